"""anymail's Amazon SES backend, for the outbox: open and click tracking belong to the SES configuration set.

The outbox asks every provider for click tracking (and open tracking where the organization allows it). SES has
no per-message switch for either: it tracks what the configuration set (ANYMAIL_AMAZON_SES_CONFIGURATION_SET_NAME)
is set up to track, and anymail refuses the message ("does not support track_clicks") instead of sending it.
This backend leaves the wish out, so the email goes; every other unsupported feature is still refused.
"""

from anymail.backends.amazon_ses import EmailBackend as AmazonSESBackend

TRACKING = ("track_clicks", "track_opens")


class EmailBackend(AmazonSESBackend):
    def build_message_payload(self, message, defaults):
        for name in TRACKING:
            if name in vars(message):
                delattr(message, name)
        return super().build_message_payload(message, defaults)
