
import mailer.engagement.modes
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('subscribers', '0004_consent_records'),
    ]

    operations = [
        migrations.AddField(
            model_name='mailinglist',
            name='tracking_mode',
            field=models.CharField(choices=[('off', 'Off: no pixel, links go straight to their target'), ('aggregate', 'Aggregate: counts per issue and link, nothing stored per person'), ('per-person', 'Per person: who opened and clicked (for segments)')], default=mailer.engagement.modes.tracking_default, help_text='Applies to sends planned from now on; a person on several lists gets the most private mode of them', max_length=16, verbose_name='open and click tracking'),
        ),
    ]
