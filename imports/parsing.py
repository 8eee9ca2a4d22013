"""Reading a candidates CSV from another ATS: encoding, delimiter, headers, and each row's checks.

Nothing here writes: `inspect` reads the file's shape, `rows` yields its records with the line they
start on (quoted newlines kept inside their cell), and `check_row` turns one record into clean
values or a list of problems, each with its column.
"""

import codecs
import csv
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from crm.services.candidates import normalize_skills

MAX_FILE_BYTES = 50 * 2**20
MAX_CELL = 5_000
DELIMITERS = [",", ";", "\t", "|"]
STARTS = "\r\n" + "".join(DELIMITERS)
# The encoding's and the delimiter's evidence: the first bytes only, whatever the file's size.
PREFIX = 64 * 2**10
CHUNK = 2**20


class ImportFileError(ValueError):
    """The file cannot be read as a CSV of candidates; the message says why, for the person who sent it."""


@dataclass
class FileShape:
    encoding: str
    delimiter: str
    headers: list


# Fields a column can be mapped to: (label, maximum length or None, note).
FIELDS = {
    "first_name": ("First name", 150), "last_name": ("Last name", 150),
    "full_name": ("Full name (split at the first space)", 300), "email": ("Email", 254),
    "phone": ("Phone", 40), "location": ("Location", 150), "headline": ("Current title", 200),
    "seniority": ("Seniority", 20), "skills": ("Skills (separated by , ; or |)", 2000),
    "tags": ("Tags (separated by , ; or |)", 2000), "source": ("Source", 20),
    "linkedin_url": ("LinkedIn", 300), "external_id": ("Candidate id in your ATS", 100),
    "created_at": ("Added on (date)", 40), "language": ("Language", 8), "notes": ("Notes", 20_000),
    "job": ("Job title", 200), "job_external_id": ("Job id in your ATS", 100), "stage": ("Stage", 40),
    "rejection_reason": ("Rejection reason", 100), "applied_at": ("Applied on (date)", 40),
    "application_external_id": ("Application id in your ATS", 100), "consent": ("Consent to keep the profile "
                                                                                  "(yes/no)", 10),
}

# Header spellings of common ATS exports (Greenhouse, Lever, Workable, Teamtailor, Recruitee,
# SmartRecruiters, BambooHR, spreadsheets), compared lower-cased with spaces, dashes and underscores removed.
PRESETS = {
    "first_name": ["firstname", "first", "givenname", "prenom", "vorname", "nombre", "candidatefirstname"],
    "last_name": ["lastname", "last", "surname", "familyname", "nom", "nachname", "apellido", "candidatelastname"],
    "full_name": ["name", "fullname", "candidatename", "candidate", "nomcomplet", "contactname"],
    "email": ["email", "emailaddress", "mail", "courriel", "candidateemail", "emails", "primaryemail",
              "personalemail", "adresseemail"],
    "phone": ["phone", "phonenumber", "mobile", "telephone", "tel", "cellphone", "phones"],
    "location": ["location", "city", "address", "ville", "currentlocation", "candidatelocation", "ort"],
    "headline": ["title", "headline", "currenttitle", "jobtitlecurrent", "currentposition", "position",
                 "currentjobtitle", "poste"],
    "seniority": ["seniority", "level", "experiencelevel", "niveau"],
    "skills": ["skills", "competences", "keywords", "expertise"],
    "tags": ["tags", "labels", "tag"],
    "source": ["source", "origin", "candidatesource", "sourcename"],
    "linkedin_url": ["linkedin", "linkedinurl", "linkedinprofile", "profileurl"],
    "external_id": ["id", "candidateid", "externalid", "applicantid", "personid", "contactid"],
    "created_at": ["createdat", "created", "dateadded", "addedon", "creationdate", "createdon"],
    "language": ["language", "locale", "langue"],
    "notes": ["notes", "note", "comments", "comment"],
    "job": ["job", "jobtitle", "jobname", "posting", "postingtitle", "requisition", "opening", "role",
            "appliedfor", "offre"],
    "job_external_id": ["jobid", "requisitionid", "postingid", "openingid"],
    "stage": ["stage", "status", "applicationstage", "currentstage", "pipelinestage", "etape"],
    "rejection_reason": ["rejectionreason", "rejectreason", "disqualificationreason", "archivereason",
                         "reasonforrejection", "motifderefus"],
    "applied_at": ["appliedat", "applied", "applicationdate", "dateapplied", "appliedon", "applicationcreated"],
    "application_external_id": ["applicationid"],
    "consent": ["consent", "gdprconsent", "talentpoolconsent", "consentement", "optin"],
}
STAGES = {
    "applied": "applied", "new": "applied", "application": "applied", "applicationreview": "applied",
    "sourced": "applied", "lead": "applied", "nouveau": "applied",
    "screening": "screening", "phonescreen": "screening", "screen": "screening", "recruiterscreen": "screening",
    "preselection": "screening", "qualified": "screening",
    "interview": "interview", "interviewing": "interview", "onsite": "interview", "technicalinterview": "interview",
    "entretien": "interview", "assessment": "interview",
    "final": "final", "finalinterview": "final", "finalround": "final",
    "offer": "offer", "offered": "offer", "offre": "offer",
    "hired": "hired", "hire": "hired", "embauche": "hired",
    "rejected": "rejected", "disqualified": "rejected", "archived": "rejected", "declined": "rejected",
    "refuse": "rejected", "notselected": "rejected",
    "withdrawn": "withdrawn", "withdrew": "withdrawn",
    "offerdeclined": "offer_declined", "declinedoffer": "offer_declined",
}
SENIORITIES = {"intern": "intern", "internship": "intern", "stagiaire": "intern", "junior": "junior",
               "entry": "junior", "entrylevel": "junior", "mid": "mid", "midlevel": "mid", "intermediate": "mid",
               "confirme": "mid", "senior": "senior", "lead": "lead", "staff": "lead", "principal": "principal",
               "director": "director", "head": "director", "executive": "executive", "vp": "executive",
               "clevel": "executive"}
SOURCES = {"applied": "applied", "application": "applied", "careers": "applied", "careerssite": "applied",
           "jobboard": "applied", "referral": "referral", "referred": "referral", "sourced": "sourced",
           "sourcing": "sourced", "linkedin": "sourced", "event": "event", "events": "event",
           "imported": "imported", "agency": "sourced"}
YES = {"yes", "y", "true", "1", "oui", "ja", "si", "x", "granted", "opted in", "optin"}
NO = {"no", "n", "false", "0", "non", "nein", "", "none"}
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y", "%d.%m.%Y",
                "%d-%m-%Y", "%m/%d/%Y", "%Y/%m/%d", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"]


def key_of(text):
    import unicodedata

    plain = unicodedata.normalize("NFKD", (text or "").strip().lower()).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_\-./()#]+", "", plain)


def binary(data):
    """A readable, seekable binary stream over the file: bytes, an uploaded file or an open file."""
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(data))
    return getattr(data, "file", data)  # an uploaded file's own stream (on disk above the memory limit)


@contextmanager
def _text(stream, encoding):
    """The stream as text, from its start, left open for the caller (a TextIOWrapper closes its buffer when it goes)."""
    if stream.seekable():
        stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace" if encoding == "cp1252" else "strict",
                            newline="")
    try:
        yield text
    finally:
        text.detach()


def _valid_utf8(stream, first):
    """Whether the whole file is UTF-8, read in chunks after its first bytes (bounded memory, linear time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(first)
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(stream):
    """(encoding, text of the first PREFIX bytes, size): UTF-8 (with or without a byte-order mark), else Windows-1252."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    if not size:
        raise ImportFileError("The file is empty.")
    if size > MAX_FILE_BYTES:
        raise ImportFileError(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB; split it in parts.")
    stream.seek(0)
    prefix = stream.read(PREFIX)
    if b"\x00" in prefix:
        raise ImportFileError("This is not a text file (it contains binary data): export a CSV from your ATS.")
    if _valid_utf8(stream, prefix):
        # A character cut at the end of the prefix is left out of the sample.
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(prefix, final=len(prefix) == size)
        return ("utf-8-sig" if prefix.startswith(codecs.BOM_UTF8) else "utf-8"), text, size
    text = prefix.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
    if "\ufffd" in text or controls > 20:
        raise ImportFileError("This does not look like a text file: export a CSV from your ATS (UTF-8 or "
                              "Windows-1252).")
    return "cp1252", text, size


def _records(sample, limit=20):
    """Per record of the sample (at most `limit`), how often each delimiter occurs outside quotes.

    One linear pass: a quote opens a cell only at its start (as the csv module reads it), two quotes
    inside a quoted cell are one, and a line break inside quotes stays in the cell."""
    records, counts, quoted, content, previous = [], dict.fromkeys(DELIMITERS, 0), False, False, "\n"
    index, length = 0, len(sample)
    while index < length and len(records) < limit:
        char = sample[index]
        if quoted:
            if char == '"':
                if sample[index + 1:index + 2] == '"':
                    index += 1
                else:
                    quoted = False
        elif char in "\r\n":
            if content:
                records.append(counts)
            counts, content = dict.fromkeys(DELIMITERS, 0), False
        else:
            content = True
            if char == '"' and previous in STARTS:
                quoted = True
            elif char in counts:
                counts[char] += 1
        previous = char
        index += 1
    if content and not records:
        records.append(counts)  # a header without a line break; a cut last record is left out otherwise
    return records


def _delimiter(sample):
    """The delimiter the header and the next lines agree on, in time linear in the (bounded) sample.

    csv.Sniffer is not used: its quote-guessing expression is quadratic, 15 s on a crafted 64 KB file."""
    records = _records(sample)
    if not records:
        return ","
    header, rest = records[0], records[1:]
    scores = {d: (sum(1 for r in rest if r[d] == header[d]), header[d]) for d in DELIMITERS if header[d]}
    return max(scores, key=scores.get) if scores else ","


def inspect(data):
    """The file's encoding, delimiter and headers; raises ImportFileError when it cannot be used.

    Reads the first PREFIX bytes for the delimiter and the first lines for the headers; the rest of
    the file only to check it is UTF-8, in chunks."""
    stream = binary(data)
    encoding, sample, size = _encoding(stream)
    if not sample.strip() and size <= PREFIX:
        raise ImportFileError("The file is empty.")
    delimiter = _delimiter(sample)
    with _text(stream, encoding) as text:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            headers = next(reader)
        except (StopIteration, csv.Error) as error:
            raise ImportFileError("The first line should name the columns.") from error
        headers = [h.strip() for h in headers]
        if not any(headers):
            raise ImportFileError("The first line should name the columns; it is empty.")
        if len(headers) > 200 or any(len(h) > 200 for h in headers):
            raise ImportFileError("The first line does not look like column names (too many or too long).")
        if len({key_of(h) for h in headers if h}) < len([h for h in headers if h]):
            seen, duplicates = set(), []
            for h in headers:
                if key_of(h) in seen and h:
                    duplicates.append(h)
                seen.add(key_of(h))
            raise ImportFileError(f"Two columns have the same name: {', '.join(duplicates)[:200]}.")
        sampled = 0
        try:
            for sampled, _ in enumerate(reader, 1):
                if sampled >= 5:
                    break
        except (csv.Error, UnicodeDecodeError) as error:
            raise ImportFileError(f"The file is not a well-formed CSV: {error}.") from error
    if sampled == 0:
        raise ImportFileError("The file has only its header line: there is nobody to import.")
    return FileShape(encoding=encoding, delimiter=delimiter, headers=headers)


def rows(data, shape):
    """(line where the record starts, {header: value}) for every record after the header, read as a stream."""
    with _text(binary(data), shape.encoding) as text:
        reader = csv.reader(text, delimiter=shape.delimiter)
        next(reader)
        line = reader.line_num + 1
        for record in reader:
            if any(cell.strip() for cell in record):
                values = {header: (record[i] if i < len(record) else "") for i, header in enumerate(shape.headers)}
                if len(record) > len(shape.headers) and any(c.strip() for c in record[len(shape.headers):]):
                    values[None] = record[len(shape.headers):]
                yield line, values
            line = reader.line_num + 1


def suggest_mapping(headers, remembered=None):
    """{header: field or ""} from what this organization mapped before, else the presets."""
    mapping, taken = {}, set()
    remembered = remembered or {}
    for header in headers:
        field_name = remembered.get(key_of(header), "")
        if not field_name:
            field_name = next((f for f, aliases in PRESETS.items() if key_of(header) in aliases), "")
        if field_name in taken:
            field_name = ""
        mapping[header] = field_name
        if field_name:
            taken.add(field_name)
    return mapping


def check_mapping(mapping, headers):
    """Problems with a mapping as a whole (a column mapped twice, no way to name or reach the person)."""
    problems = []
    used = [f for f in mapping.values() if f]
    unknown = sorted({f for f in used if f not in FIELDS})
    if unknown:
        problems.append(f"Unknown fields: {', '.join(unknown)}.")
    twice = sorted({f for f in used if used.count(f) > 1})
    if twice:
        problems.append(f"Each field takes one column; mapped twice: {', '.join(FIELDS[f][0] for f in twice)}.")
    if "email" not in used:
        problems.append("Map a column to Email: it is how candidates are matched and reached.")
    if "first_name" not in used and "full_name" not in used:
        problems.append("Map a column to First name or Full name.")
    if "stage" in used and "job" not in used and "job_external_id" not in used:
        problems.append("A stage needs a job: map the job title or the job's id too.")
    missing = sorted(set(mapping) - set(headers))
    if missing:
        problems.append(f"These columns are not in the file: {', '.join(missing)[:200]}.")
    return problems


@dataclass
class CleanRow:
    line: int
    candidate: dict
    tags: list = field(default_factory=list)
    application: dict | None = None
    consent: bool | None = None


@dataclass
class RowProblem:
    line: int
    column: str
    value: str
    reason: str


def _date(text):
    text = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _split(text):
    return [part.strip() for part in re.split(r"[,;|\n]", text) if part.strip()]


def check_row(line, values, mapping):
    """One record as clean values (CleanRow), or the list of its problems (RowProblem)."""
    problems = []
    column_of = {f: h for h, f in mapping.items() if f}
    get = {f: (values.get(h) or "").strip() for f, h in column_of.items()}

    def problem(field_name, reason):
        header = column_of.get(field_name, field_name)
        value = get.get(field_name, "")
        problems.append(RowProblem(line=line, column=header, value=value[:200], reason=reason))

    if values.get(None):
        problems.append(RowProblem(line=line, column="", value=", ".join(values[None])[:200],
                                   reason="More cells than columns: check the quotes and delimiters of this line."))
    for field_name, value in get.items():
        limit = FIELDS[field_name][1]
        if len(value) > min(limit, MAX_CELL) if field_name != "notes" else len(value) > limit:
            problem(field_name, f"Too long: {len(value):,} characters, at most {limit:,}.")
    first, last = get.get("first_name", ""), get.get("last_name", "")
    if not first and get.get("full_name"):
        first, _, rest = get["full_name"].partition(" ")
        last = last or rest.strip()
    if not first:
        problem("first_name" if "first_name" in column_of else "full_name", "A first name is required.")
    email = get.get("email", "")
    if not email:
        problem("email", "An email is required.")
    else:
        try:
            validate_email(email)
        except ValidationError:
            problem("email", "Not a valid email address.")
    candidate = {"first_name": first[:150], "last_name": last[:150], "email": email.lower() if email else ""}
    for name in ("phone", "location", "headline", "external_id", "notes"):
        if get.get(name):
            candidate[name] = get[name][:FIELDS[name][1]]
    if get.get("linkedin_url"):
        url = get["linkedin_url"]
        url = url if url.startswith(("http://", "https://")) else f"https://{url}"
        try:
            URLValidator(schemes=["http", "https"])(url)
            candidate["linkedin_url"] = url
        except ValidationError:
            problem("linkedin_url", "Not a web address.")
    if get.get("seniority"):
        seniority = SENIORITIES.get(key_of(get["seniority"]))
        if seniority is None:
            problem("seniority", f"Unknown seniority; use one of {', '.join(sorted(set(SENIORITIES.values())))}.")
        candidate["seniority"] = seniority or ""
    if get.get("source"):
        candidate["source_label"] = get["source"][:100]
        candidate["source"] = SOURCES.get(key_of(get["source"]), "imported")
    if get.get("language"):
        code = get["language"].strip().lower()[:2]
        if code in {c for c, _ in settings.LANGUAGES}:
            candidate["language"] = code
    if get.get("skills"):
        candidate["skills"] = list(dict.fromkeys(s[:50] for s in normalize_skills(_split(get["skills"]))))[:50]
    if get.get("created_at"):
        created = _date(get["created_at"])
        if created is None:
            problem("created_at", "Not a date (use YYYY-MM-DD or DD/MM/YYYY).")
        candidate["created_at"] = created
    tags = [t[:60] for t in _split(get.get("tags", ""))][:50]
    application = None
    if get.get("job") or get.get("job_external_id"):
        stage_text = get.get("stage", "")
        stage = STAGES.get(key_of(stage_text), None) if stage_text else "applied"
        if stage is None:
            problem("stage", "Unknown stage; use applied, screening, interview, final, offer, hired, rejected, "
                             "withdrawn or offer declined.")
        applied = _date(get["applied_at"]) if get.get("applied_at") else None
        if get.get("applied_at") and applied is None:
            problem("applied_at", "Not a date (use YYYY-MM-DD or DD/MM/YYYY).")
        application = {"job": get.get("job", "")[:200], "job_external_id": get.get("job_external_id", ""),
                       "stage": stage, "rejection_reason": get.get("rejection_reason", "")[:100],
                       "applied_at": applied, "external_id": get.get("application_external_id", "")}
    elif get.get("stage"):
        problem("stage", "A stage needs a job on the same line.")
    consent = None
    if "consent" in column_of:
        answer = get.get("consent", "").strip().lower()
        if answer in YES:
            consent = True
        elif answer in NO:
            consent = False
        else:
            problem("consent", "Use yes or no.")
    if problems:
        return problems
    return CleanRow(line=line, candidate=candidate, tags=tags, application=application, consent=consent)
