"""District councils (Rady Dzielnic): the queue of what lies in a district, opinions on budget
proposals, the council's priorities, the report for a council meeting, and notifications.

Framework-free; all the councils' SQL is here, over the tables named in
:class:`~civic.councils.common.Tables` (migrations 0002, 0003, 0006). What the public may
see comes from the layers' workflows (:func:`~civic.councils.common.visibility`), so the rules
live in the layer registry.

- common.py — tables, visibility, the queue filter and its SQL conditions, districts,
  membership, errors (:class:`Invalid`, :class:`NotFound`);
- queue.py — the queue, counts per status, editions;
- opinions.py — opinions: validation, recording (one per council and proposal), audit;
- priorities.py — the council's ranking of an edition;
- report.py — the report's numbers; report_files.py — CSV / GeoPackage / PDF;
  svgmap.py — its map for print;
- notify.py — :func:`notify_council`, subscribed to the ``content_public`` event.
"""

from civic.councils.common import (
    COMMENTS,
    JUSTIFICATION_MAX,
    KIND_OF_LAYER,
    OPINIONS,
    PROPOSALS,
    RANK_MAX,
    RESOLUTION_REF_MAX,
    TABLE_OF_KIND,
    Invalid,
    NotFound,
    QueueFilter,
    Visibility,
    district,
    districts,
    is_member,
    is_own_council,
    roman,
    visibility,
)
from civic.councils.notify import council_members, notify_council, told
from civic.councils.opinions import (
    OPINION_TITLES,
    give_opinion,
    opinion_of,
    opinion_page,
    opinions_for,
    record_opinion,
    validate_opinion,
)
from civic.councils.priorities import Stale, parse_ranks, priorities_page, save_priorities
from civic.councils.queue import district_queue, editions, queue, status_counts
from civic.councils.report import Report, report
from civic.councils.report_files import (
    find_chromium,
    html_to_pdf,
    report_file,
    write_report,
)
from civic.councils.svgmap import svg_map

__all__ = [
    "COMMENTS",
    "JUSTIFICATION_MAX",
    "KIND_OF_LAYER",
    "OPINIONS",
    "OPINION_TITLES",
    "PROPOSALS",
    "RANK_MAX",
    "RESOLUTION_REF_MAX",
    "TABLE_OF_KIND",
    "Invalid",
    "NotFound",
    "QueueFilter",
    "Report",
    "Stale",
    "Visibility",
    "council_members",
    "district",
    "district_queue",
    "districts",
    "editions",
    "find_chromium",
    "give_opinion",
    "html_to_pdf",
    "is_member",
    "is_own_council",
    "notify_council",
    "opinion_of",
    "opinion_page",
    "opinions_for",
    "parse_ranks",
    "priorities_page",
    "queue",
    "record_opinion",
    "report",
    "report_file",
    "roman",
    "save_priorities",
    "status_counts",
    "svg_map",
    "told",
    "validate_opinion",
    "visibility",
    "write_report",
]
