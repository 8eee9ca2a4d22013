# Replies: each sent email's reply token, and the replies found by it.

import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0016_account_emails'),
        ('outreach', '0004_partial_message_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Reply',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('received_at', models.DateTimeField()),
                ('from_email', models.CharField(blank=True, max_length=254)),
                ('subject', models.CharField(blank=True, max_length=300)),
                ('text', models.TextField(blank=True)),
                ('auto_reply', models.BooleanField(default=False)),
                ('stop_request', models.BooleanField(default=False)),
                ('stop_reviewed_at', models.DateTimeField(blank=True, null=True)),
                ('provider', models.CharField(max_length=40)),
                ('provider_message_id', models.CharField(blank=True, max_length=200)),
                ('message_id_header', models.CharField(blank=True, max_length=300)),
                ('dedupe_key', models.CharField(max_length=300)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'verbose_name_plural': 'replies',
                'ordering': ['-received_at', '-id'],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('all_tenants', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddField(
            model_name='message',
            name='reply_token',
            field=models.CharField(blank=True, default='', max_length=32),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(condition=models.Q(('reply_token', ''), _negated=True), fields=('reply_token',), name='message_reply_token'),
        ),
        migrations.AddField(
            model_name='reply',
            name='candidate',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='replies', to='crm.candidate'),
        ),
        migrations.AddField(
            model_name='reply',
            name='forward_email',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='crm.accountemail'),
        ),
        migrations.AddField(
            model_name='reply',
            name='message',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='replies', to='outreach.message'),
        ),
        migrations.AddField(
            model_name='reply',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='crm.organization'),
        ),
        migrations.AddField(
            model_name='reply',
            name='stop_reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='reply',
            index=models.Index(fields=['message'], name='reply_message'),
        ),
        migrations.AddIndex(
            model_name='reply',
            index=models.Index(condition=models.Q(('stop_request', True), ('stop_reviewed_at__isnull', True)), fields=['organization', '-received_at'], name='reply_stop_to_review'),
        ),
        migrations.AddConstraint(
            model_name='reply',
            constraint=models.UniqueConstraint(fields=('organization', 'dedupe_key'), name='reply_once'),
        ),
    ]
