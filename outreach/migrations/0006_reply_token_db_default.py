# Rows written by SQL (a campaign run's INSERT … SELECT) get an empty reply token too.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0005_replies'),
    ]

    operations = [
        migrations.AlterField(
            model_name='message',
            name='reply_token',
            field=models.CharField(blank=True, db_default='', default='', max_length=32),
        ),
    ]
