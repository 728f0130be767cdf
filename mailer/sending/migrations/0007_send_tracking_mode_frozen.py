
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sending', '0006_batch_worker_deaths'),
    ]

    operations = [
        migrations.AddField(
            model_name='send',
            name='tracking_mode',
            field=models.CharField(blank=True, choices=[('off', 'Off: no pixel, links go straight to their target'), ('aggregate', 'Aggregate: counts per issue and link, nothing stored per person'), ('per-person', 'Per person: who opened and clicked (for segments)')], max_length=16, verbose_name='tracking mode'),
        ),
    ]
