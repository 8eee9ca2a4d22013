"""Move the suppression list onto the current SUPPRESSION_HASH_KEY, and say what still needs an old key.

A suppression entry is a keyed hash of an erased address; no key turns it back into the address. So an
entry moves to the current key only when its address is in hand: here, from --addresses (one per line,
e.g. the erasure requests kept by the operator), and in the app whenever the address comes back (an
erasure, an import). Until every entry is on the current key, the old key must stay in
SUPPRESSION_HASH_KEY_FALLBACKS: dropping it lets those people back in. --check fails while that is so.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from crm.models import Suppression
from crm.services import suppressions_move_to_current_key


class Command(BaseCommand):
    help = "Re-hash suppression entries under the current key (given their addresses) and report what is left."

    def add_arguments(self, parser):
        parser.add_argument("--addresses", metavar="FILE",
                            help="a file of addresses, one a line ('-' reads standard input)")
        parser.add_argument("--check", action="store_true",
                            help="exit with an error while any entry still needs a fallback key")

    def handle(self, *args, addresses=None, check=False, **options):
        if addresses:
            moved = suppressions_move_to_current_key(emails=self._read(addresses), all_organizations=True)
            self.stdout.write(f"Moved {moved:,} entries to the current key.")
        names = {Suppression.key_id_of(settings.SUPPRESSION_HASH_KEY): "the current key (SUPPRESSION_HASH_KEY)"}
        for position, key in enumerate(settings.SUPPRESSION_HASH_KEY_FALLBACKS, start=1):
            names.setdefault(Suppression.key_id_of(key), f"fallback key {position} (SUPPRESSION_HASH_KEY_FALLBACKS)")
        current = next(iter(names))
        counts = dict(Suppression.all_tenants.values_list("key_id").annotate(n=Count("pk")).values_list("key_id", "n"))
        total = sum(counts.values())
        self.stdout.write(f"{total:,} suppression entries.")
        pending = 0
        for key_id, count in sorted(counts.items(), key=lambda item: (item[0] != current, item[0])):
            if key_id == current:
                self.stdout.write(f"  {count:,} under the current key: done.")
                continue
            pending += count
            if key_id in names:
                self.stdout.write(f"  {count:,} under {names[key_id]} [{key_id}]: still matched; keep that key until "
                                  "their addresses come back or are given with --addresses.")
            elif key_id == "":
                self.stdout.write(f"  {count:,} from before keys were recorded: matched only while the key that made "
                                  "them is the current key or a fallback; keep the keys you used then.")
            else:
                self.stdout.write(self.style.ERROR(
                    f"  {count:,} under a key no longer configured [{key_id}]: these people are NOT suppressed any "
                    "more. Put that key back in SUPPRESSION_HASH_KEY_FALLBACKS."))
        if check and pending:
            raise CommandError(f"{pending:,} entries still need an older key: do not drop a fallback key yet.")

    def _read(self, path):
        import sys

        if path == "-":
            lines = sys.stdin.read().splitlines()
        else:
            try:
                with open(path, encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
            except OSError as error:
                raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        return list(dict.fromkeys(line.strip().lower() for line in lines if "@" in line))
