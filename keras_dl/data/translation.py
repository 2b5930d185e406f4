"""A generated translation task for sequence-to-sequence models: calendar dates written the
many ways people write them, to ISO 8601 (`YYYY-MM-DD`).

```python
x, y = keras_dl.data.load_numpy("dates_to_iso", "validation")
x[0], y[0]   # ('Thu, 4 Mar 2021', '2021-03-04'), say
```

`dates_to_iso` draws dates uniformly from 1900-01-01 to 2099-12-31 and writes each in one of
`FORMATS` (numeric with three separators and two orders, month names in full, abbreviated,
upper- or lower-case, with or without the weekday, ordinal days: "the 4th of March 2021").
Every format says which number is the day and which the month (the US order uses `/`, the
day-first order `.` or words), so every source string has one ISO answer. Splits: 20,000
train, 2,000 validation, 2,000 test (`SIZES`); no source string appears twice in the whole
dataset, so the splits share none, and a hold-out cut from the training split shares none
with the rest either. The same `seed` (`SEED` for the named dataset) gives the same strings;
`generate(seed=...)` draws another sample. Targets are always 10 characters.
"""

from __future__ import annotations

import datetime
import functools

import numpy as np

from keras_dl.data import sources

SPLITS = ("train", "validation", "test")
SIZES = {"train": 20_000, "validation": 2_000, "test": 2_000}
SEED = 0
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2099, 12, 31)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ordinal(day: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st, 22nd, 23rd, ..., 31st."""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _fields(date: datetime.date) -> dict:
    month, weekday = MONTHS[date.month - 1], WEEKDAYS[date.weekday()]
    return {"y": date.year, "m": date.month, "d": date.day, "month": month, "mon": month[:3],
            "weekday": weekday, "wkd": weekday[:3], "nth": ordinal(date.day)}


# Each format writes a date's fields; the numeric ones fix the order by their separator.
FORMATS = (
    "{month} {d}, {y}",              # March 4, 2021
    "{mon} {d}, {y}",                # Mar 4, 2021
    "{mon}. {d}, {y}",               # Mar. 4, 2021
    "{d} {month} {y}",               # 4 March 2021
    "{d} {mon} {y}",                 # 4 Mar 2021
    "{weekday}, {month} {d}, {y}",   # Thursday, March 4, 2021
    "{wkd}, {d} {mon} {y}",          # Thu, 4 Mar 2021
    "{weekday} {d} {month} {y}",     # Thursday 4 March 2021
    "{month} {nth}, {y}",            # March 4th, 2021
    "{nth} {month} {y}",             # 4th March 2021
    "the {nth} of {month} {y}",      # the 4th of March 2021
    "{y} {month} {d}",               # 2021 March 4
    "{d:02d}-{mon}-{y}",             # 04-Mar-2021
    "{m:02d}/{d:02d}/{y}",           # 03/04/2021 (US: month first)
    "{m}/{d}/{y}",                   # 3/4/2021 (US)
    "{d:02d}.{m:02d}.{y}",           # 04.03.2021 (day first)
    "{d}.{m}.{y}",                   # 4.3.2021 (day first)
    "{y}/{m:02d}/{d:02d}",           # 2021/03/04
    "{y}{m:02d}{d:02d}",             # 20210304
    "{month_upper} {d} {y}",         # MARCH 4 2021
    "{month_lower} {d} {y}",         # march 4 2021
    "{wkd_lower} {mon_lower} {d} {y}",  # thu mar 4 2021
)


def write_date(date: datetime.date, form: str) -> str:
    """`date` written in `form` (one of `FORMATS`)."""
    fields = _fields(date)
    fields.update(month_upper=fields["month"].upper(), month_lower=fields["month"].lower(),
                  mon_lower=fields["mon"].lower(), wkd_lower=fields["wkd"].lower())
    return form.format(**fields)


def generate(sizes: dict | None = None, seed: int = SEED) -> dict:
    """`{split: (sources, targets)}` (arrays of str) with `sizes[split]` pairs each (default
    `SIZES`): distinct source strings, drawn from `seed` alone."""
    sizes = dict(SIZES if sizes is None else sizes)
    for split, size in sizes.items():
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size of split {split!r} must be a positive integer, got {size!r}")
    wanted = sum(sizes.values())
    span = (LAST_DAY - FIRST_DAY).days + 1
    if wanted > span * len(FORMATS) // 2:
        raise ValueError(f"{wanted} pairs asked for; at most {span * len(FORMATS) // 2} "
                         "distinct source strings can be drawn")
    rng = np.random.default_rng(seed)
    answers: dict[str, str] = {}
    while len(answers) < wanted:
        days = rng.integers(0, span, size=wanted)
        forms = rng.integers(0, len(FORMATS), size=wanted)
        for day, form in zip(days, forms):
            date = FIRST_DAY + datetime.timedelta(days=int(day))
            source = write_date(date, FORMATS[form])
            if answers.setdefault(source, date.isoformat()) != date.isoformat():
                raise ValueError(f"{source!r} reads as two dates; FORMATS must be unambiguous")
            if len(answers) == wanted:
                break
    pairs = list(answers.items())  # in the order drawn
    splits, start = {}, 0
    for split in SPLITS:
        if split in sizes:
            chunk = pairs[start:start + sizes[split]]
            start += sizes[split]
            splits[split] = (np.array([s for s, _ in chunk]), np.array([t for _, t in chunk]))
    return splits


@functools.lru_cache(maxsize=1)
def _dates():
    return generate()


def _load_dates(split):
    return _dates()[split]


DATASETS = {
    "dates_to_iso": sources.DatasetInfo(
        name="dates_to_iso",
        input_shape=(),
        num_classes=0,
        class_names=(),
        source=f"generated: dates from {FIRST_DAY} to {LAST_DAY} written in {len(FORMATS)} "
        "human formats, to ISO YYYY-MM-DD (20,000 / 2,000 / 2,000 distinct source strings, "
        "seed 0)",
        how_to_get="nothing to get: it is generated",
        _offline=lambda: True,
        _load=_load_dates,
        modality="text",
        splits=SPLITS,
    ),
}
sources.KNOWN.update(DATASETS)
