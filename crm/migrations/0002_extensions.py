from django.contrib.postgres.operations import BtreeGinExtension, TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [TrigramExtension(), BtreeGinExtension()]
