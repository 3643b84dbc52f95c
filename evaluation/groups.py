"""What per-group breakdowns and intervals group items by: the question an item belongs to, a
country's world region, the kind of a ValueKaleidoscope value. Each task says which it uses
(`Task.groups`)."""

from __future__ import annotations

import re

# World regions of the GlobalOpinionQA countries (survey spellings; sample notes are stripped).
REGIONS = {
    "Africa": "Angola, Burkina Faso, Ethiopia, Ghana, Ivory Coast, Kenya, Mali, Nigeria, S. Africa, South Africa, "
    "Senegal, Tanzania, Uganda, Zimbabwe",
    "Asia": "Bangladesh, China, Hong Kong SAR, India, Indonesia, Japan, Kazakhstan, Malaysia, Pakistan, Philippines, "
    "S. Korea, South Korea, Singapore, Taiwan, Thailand, Uzbekistan, Vietnam",
    "Europe": "Andorra, Armenia, Austria, Britain, Great Britain, Bulgaria, Czech Rep., Denmark, France, Georgia, Germany, "
    "Greece, Hungary, Iceland, Italy, Lithuania, Montenegro, Netherlands, North Macedonia, Northern Ireland, "
    "Poland, Romania, Russia, Serbia, Slovakia, Slovenia, Spain, Sweden, Turkey, Ukraine",
    "Latin America": "Argentina, Bolivia, Brazil, Chile, Colombia, Ecuador, El Salvador, Guatemala, Honduras, Mexico, "
    "Nicaragua, Peru, Venezuela",
    "Middle East and North Africa": "Egypt, Iraq, Israel, Jordan, Kuwait, Lebanon, Libya, Morocco, Palest. ter., Tunisia",
    "North America": "Canada, United States",
    "Oceania": "Australia, New Zealand",
}
_REGION_OF = {country.strip(): region for region, names in REGIONS.items() for country in names.split(",")}
_SAMPLE_NOTE = re.compile(r"\s*\([^)]*sample\)\s*$", re.IGNORECASE)


def region_of(country: str) -> str:
    return _REGION_OF.get(_SAMPLE_NOTE.sub("", country).strip(), "other")


def vrd_type(vrd: str) -> str:
    """`right`, `duty` or `value`: how ValueKaleidoscope words its three kinds."""
    first = vrd.strip().split(" ")[0].lower()
    return first if first in ("right", "duty") else "value"


def question_key(item: dict) -> str:
    """What items of one question share: the question text, or the situation (ValueKaleidoscope)."""
    return str(item.get("question") or item.get("situation") or item.get("id"))
