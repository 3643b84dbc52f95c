"""Per-group breakdowns: the exact group of an item, and the category it rolls up into.

- OpinionQA: `POLPARTY_Democrat` rolls up into `POLPARTY`.
- GlobalOpinionQA: a country rolls up into its world region.
- MoralChoice: the ambiguity level (no roll-up).
- Steerable ValueKaleidoscope: the type of the value, right or duty (`right`, `duty`, `value`),
  not each unique text.
"""

from __future__ import annotations

import re

from ethos.personas.targets import group_of

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


def item_groups(task_name: str, item: dict) -> tuple[str, str] | None:
    """(exact group, category) of an item, or None for tasks without groups."""
    if task_name == "steerable-vk":
        return item["vrd"], vrd_type(item["vrd"])
    attribute = item.get("attribute")
    if not isinstance(attribute, str):
        return None
    if task_name == "steerable-opinionqa":
        return attribute, attribute.partition("_")[0] if group_of(attribute) else "other"
    if task_name == "distributional-globalopinionqa":
        return attribute, region_of(attribute)
    if task_name == "distributional-moralchoice":
        return attribute, attribute
    return None


def question_key(item: dict) -> str:
    """What items of one question share: the question text, or the situation (ValueKaleidoscope)."""
    return str(item.get("question") or item.get("situation") or item.get("id"))
