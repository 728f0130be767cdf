
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('issues', '0003_translatable_labels'),
        ('sending', '0007_send_tracking_mode_frozen'),
        ('subscribers', '0005_list_tracking_mode'),
    ]

    operations = [
        migrations.CreateModel(
            name='Hit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('open', 'Open'), ('click', 'Click')], max_length=8, verbose_name='kind')),
                ('send_id', models.BigIntegerField(verbose_name='send id')),
                ('delivery_id', models.BigIntegerField(verbose_name='delivery id')),
                ('mode', models.CharField(max_length=16, verbose_name='mode')),
                ('link_id', models.BigIntegerField(null=True, verbose_name='link id')),
                ('actor', models.CharField(choices=[('person', 'Person'), ('machine', 'Machine (scanner, link checker)'), ('proxy', 'Privacy proxy (Apple Mail Privacy Protection)')], max_length=8, verbose_name='actor')),
                ('sent_at', models.DateTimeField(verbose_name='message built at')),
                ('at', models.DateTimeField(verbose_name='at')),
            ],
            options={
                'verbose_name': 'hit',
                'verbose_name_plural': 'hits',
            },
        ),
        migrations.CreateModel(
            name='TrackedLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.TextField(verbose_name='URL')),
                ('url_hash', models.CharField(max_length=64, verbose_name='URL hash')),
                ('issue', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='issues.issue', verbose_name='issue')),
            ],
            options={
                'verbose_name': 'tracked link',
                'verbose_name_plural': 'tracked links',
            },
        ),
        migrations.CreateModel(
            name='Event',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('open', 'Open'), ('click', 'Click')], max_length=8, verbose_name='kind')),
                ('actor', models.CharField(choices=[('person', 'Person'), ('machine', 'Machine (scanner, link checker)'), ('proxy', 'Privacy proxy (Apple Mail Privacy Protection)')], max_length=8, verbose_name='actor')),
                ('visitor', models.CharField(max_length=16, verbose_name='visitor')),
                ('language', models.CharField(blank=True, max_length=8, verbose_name='language')),
                ('country', models.CharField(blank=True, max_length=2, verbose_name='country')),
                ('seconds_after', models.IntegerField(verbose_name='seconds after delivery')),
                ('at', models.DateTimeField(verbose_name='at')),
                ('mailing_list', models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='subscribers.mailinglist', verbose_name='mailing list')),
                ('send', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='engagement_events', to='sending.send', verbose_name='send')),
                ('subscriber', models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='engagement_events', to='subscribers.subscriber', verbose_name='subscriber')),
                ('link', models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='engagement.trackedlink', verbose_name='link')),
            ],
            options={
                'verbose_name': 'engagement event',
                'verbose_name_plural': 'engagement events',
            },
        ),
        migrations.CreateModel(
            name='FrozenListMode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('mailing_list_id', models.BigIntegerField(verbose_name='mailing list id')),
                ('mode', models.CharField(max_length=16, verbose_name='mode')),
                ('send', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='frozen_list_modes', to='sending.send', verbose_name='send')),
            ],
            options={
                'verbose_name': 'list mode at planning',
                'verbose_name_plural': 'list modes at planning',
                'constraints': [models.UniqueConstraint(fields=('send', 'mailing_list_id'), name='one_frozen_mode_per_list')],
            },
        ),
        migrations.AddConstraint(
            model_name='trackedlink',
            constraint=models.UniqueConstraint(fields=('issue', 'url_hash'), name='one_tracked_link_per_url'),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['send', 'kind', 'actor'], name='engagement_send_kind'),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(condition=models.Q(('subscriber__isnull', False)), fields=['at'], name='engagement_person_at'),
        ),
    ]
