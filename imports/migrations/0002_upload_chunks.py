"""Uploaded files move from one column to 1 MiB chunks, so that no step holds a whole file."""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0013_candidate_outcomes'),
        ('imports', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='ImportFileChunk',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveIntegerField()),
                ('data', models.BinaryField()),
                ('candidate_import', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='chunks', to='imports.candidateimport')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='crm.organization')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('candidate_import', 'position'), name='import_chunk_position')],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('all_tenants', django.db.models.manager.Manager()),
            ],
        ),
        migrations.RunSQL(
            """
            INSERT INTO imports_importfilechunk (organization_id, candidate_import_id, position, data)
            SELECT i.organization_id, i.id, part, substring(i.data FROM part * 1048576 + 1 FOR 1048576)
            FROM imports_candidateimport i,
                 generate_series(0, (length(i.data) - 1) / 1048576) AS part
            WHERE length(i.data) > 0
            """,
            reverse_sql="""
            UPDATE imports_candidateimport i SET data = COALESCE((
                SELECT string_agg(c.data, ''::bytea ORDER BY c.position) FROM imports_importfilechunk c
                WHERE c.candidate_import_id = i.id), ''::bytea)
            """,
        ),
        migrations.RemoveField(
            model_name='candidateimport',
            name='data',
        ),
    ]
