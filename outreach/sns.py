"""Amazon SNS message signatures: a post to the Amazon SES webhook is Amazon's, or it is refused.

Amazon SES publishes its events to an SNS topic, and SNS posts each message to the webhook as JSON,
signed with the private key of a certificate it serves from `https://sns.<region>.amazonaws.com/….pem`.
This module checks a message the way Amazon documents it (SendMessageToHttp.verify.signature):

- the certificate URL must be https on the SNS host of the topic's own region (a region Amazon lists
  for SNS), with no port, credentials, query or fragment: anything else is refused without a fetch;
- the string to sign is "Name\\nvalue\\n" for each signed field in Amazon's order: Message, MessageId,
  Subject (when present), Timestamp, TopicArn, Type for a Notification; Message, MessageId,
  SubscribeURL, Timestamp, Token, TopicArn, Type for a SubscriptionConfirmation or an
  UnsubscribeConfirmation;
- SignatureVersion 1 is RSA PKCS#1 v1.5 with SHA1, SignatureVersion 2 the same with SHA256;
- a subscription message's SubscribeURL must be https on the same SNS host;
- with `SNS_TOPIC_ARNS` set, only those topics are taken.

A certificate is fetched once, then kept in the cache and in the process. A message that fails any
check is `InvalidMessage` (the webhook answers 403 and writes nothing); a certificate that cannot be
fetched right now (a timeout, a refused connection, a 5xx from Amazon) is `CertificateUnavailable`,
answered with a 503 so that SNS delivers the message again later.
"""

import base64
import binascii
import functools
import hashlib
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.cache import cache

SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
OPTIONAL_FIELDS = {"Subject"}
SIGNATURE_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# The partitions SNS posts from, and the domain of their endpoints.
PARTITION_DOMAINS = {"aws": "amazonaws.com", "aws-us-gov": "amazonaws.com", "aws-cn": "amazonaws.com.cn"}
MAX_CERTIFICATE_BYTES = 64 * 1024
FETCH_TIMEOUT = 5  # seconds; SNS waits 15 s for the webhook's answer
CACHE_SECONDS = 24 * 3600
MAX_KEPT = 32

_keys = {}  # certificate URL -> its public key, for this process
_keys_lock = threading.Lock()


class InvalidMessage(Exception):
    """Not a message Amazon SNS signed for this installation: refused for good."""


class CertificateUnavailable(Exception):
    """The signing certificate cannot be fetched now: SNS should deliver the message again later."""


@functools.cache
def sns_regions():
    """{region: partition} for every region Amazon lists for SNS (botocore's bundled endpoint data)."""
    import boto3

    session = boto3.session.Session()
    return {region: partition for partition in PARTITION_DOMAINS
            for region in session.get_available_regions("sns", partition_name=partition)}


def topic_region(topic_arn):
    """The region of an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)."""
    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not (parts[4].isascii() and parts[4].isdigit()) or not parts[5]:
        raise InvalidMessage("TopicArn is not an SNS topic")
    partition, region = parts[1], parts[3]
    if sns_regions().get(region) != partition:
        raise InvalidMessage("TopicArn names no SNS region")
    return region


def sns_host(region):
    return f"sns.{region}.{PARTITION_DOMAINS[sns_regions()[region]]}"


def _check_url(url, region, name, *, pem=False):
    """An https URL on the SNS host of `region`, with nothing a caller could use to point it elsewhere."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidMessage(f"{name} is not a URL") from None
    if parts.scheme != "https" or parts.hostname != sns_host(region) or port not in (None, 443):
        raise InvalidMessage(f"{name} is not on {sns_host(region)} over https")
    if parts.username is not None or parts.password is not None or parts.fragment or "\\" in url:
        raise InvalidMessage(f"{name} carries credentials or a fragment")
    if pem and (parts.query or not parts.path.endswith(".pem")):
        raise InvalidMessage(f"{name} is not a certificate file")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is answered as the HTTP error it is


def fetch_certificate(url):
    """The PEM bytes at `url` (already checked to be an SNS certificate URL)."""
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "Silverpool"}),
                         timeout=FETCH_TIMEOUT) as response:
            data = response.read(MAX_CERTIFICATE_BYTES + 1)
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise CertificateUnavailable(f"the certificate URL answered {error.code}") from None
        raise InvalidMessage(f"the certificate URL answered {error.code}") from None
    except (OSError, ValueError) as error:  # URLError, timeouts, TLS failures, a broken answer
        raise CertificateUnavailable(f"the certificate could not be fetched ({error.__class__.__name__})") from None
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise InvalidMessage("the certificate is too large")
    return data


def _public_key(url):
    key = _keys.get(url)
    if key is not None:
        return key
    cache_key = "sns-certificate:" + hashlib.sha256(url.encode()).hexdigest()
    pem = cache.get(cache_key)
    fetched = pem is None
    if fetched:
        pem = fetch_certificate(url)
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except (ValueError, TypeError):
        raise InvalidMessage("the certificate is not a PEM certificate") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidMessage("the certificate's key is not RSA")
    if fetched:
        cache.set(cache_key, pem, CACHE_SECONDS)
    with _keys_lock:
        if len(_keys) >= MAX_KEPT:
            _keys.clear()
        _keys[url] = key
    return key


def forget_certificates():
    """Drop the certificates this process keeps (the cache's copies expire by themselves)."""
    with _keys_lock:
        _keys.clear()


def string_to_sign(message):
    """Amazon's canonical form of the message's signed fields."""
    kind = message.get("Type")
    if not isinstance(kind, str) or kind not in SIGNED_FIELDS:
        raise InvalidMessage("Type is not an SNS message type")
    lines = []
    for name in SIGNED_FIELDS[kind]:
        if name not in message and name in OPTIONAL_FIELDS:
            continue
        value = message.get(name)
        if not isinstance(value, str):
            raise InvalidMessage(f"{name} is missing or not text")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode("utf-8", "surrogatepass")


def verify(message):
    """Return the message if Amazon SNS signed it for an allowed topic; raise InvalidMessage or CertificateUnavailable."""
    if not isinstance(message, dict):
        raise InvalidMessage("the body is not an SNS message")
    version = message.get("SignatureVersion")
    if not isinstance(version, str) or version not in SIGNATURE_HASHES:
        raise InvalidMessage("SignatureVersion is missing or unknown")
    data = string_to_sign(message)
    topic = message["TopicArn"]
    region = topic_region(topic)
    allowed = getattr(settings, "SNS_TOPIC_ARNS", None) or []
    if allowed and topic not in allowed:
        raise InvalidMessage("the topic is not one of SNS_TOPIC_ARNS")
    signature, certificate_url = message.get("Signature"), message.get("SigningCertURL")
    if not isinstance(signature, str) or not isinstance(certificate_url, str):
        raise InvalidMessage("Signature or SigningCertURL is missing")
    _check_url(certificate_url, region, "SigningCertURL", pem=True)
    if message["Type"] != "Notification":
        _check_url(message["SubscribeURL"], region, "SubscribeURL")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMessage("Signature is not base64") from None
    if not raw_signature:
        raise InvalidMessage("Signature is empty")
    key = _public_key(certificate_url)
    try:
        key.verify(raw_signature, data, padding.PKCS1v15(), SIGNATURE_HASHES[version]())
    except InvalidSignature:
        raise InvalidMessage("the signature does not match the message") from None
    return message
