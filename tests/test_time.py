"""Tests for aware-time checks, clocks and the ISO formats."""

import datetime as dt
import zoneinfo

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Clock, FixedClock, ensure_aware
from funnelkit._time import canonical, now_from
from funnelkit.documents import format_datetime, format_duration, parse_datetime, parse_duration
from funnelkit.strategies import aware_datetimes

UTC = dt.UTC
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


class TestEnsureAware:
    def test_naive_refused_with_field_name(self):
        """A naive datetime is refused; pendulum alone would have assumed UTC."""
        with raises_problems(("now", "timezone")):
            ensure_aware(dt.datetime(2026, 3, 1, 9, 30), field="now")

    def test_date_refused(self):
        """A date is not a moment in time."""
        with raises_problems(("value", "type")):
            ensure_aware(dt.date(2026, 3, 1))  # type: ignore[arg-type]

    def test_stdlib_and_pendulum_accepted(self):
        """Both kinds come back as a pendulum DateTime for the same instant."""
        stdlib = dt.datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
        p = pendulum.datetime(2026, 3, 1, 17, 30, tz="Asia/Shanghai")
        assert ensure_aware(stdlib) == stdlib
        assert isinstance(ensure_aware(stdlib), pendulum.DateTime)
        assert ensure_aware(p) is p
        assert ensure_aware(p) == stdlib


class TestClocks:
    def test_fixed_clock(self):
        """A fixed clock always says the same time and satisfies the Clock protocol."""
        at = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
        clock = FixedClock(at=at)
        assert clock.now() == at
        assert isinstance(clock, Clock)
        assert clock.shifted(dt.timedelta(hours=-1)).now() == dt.datetime(2026, 1, 5, 8, tzinfo=UTC)

    def test_fixed_clock_refuses_naive(self):
        """A clock cannot be set to a naive time."""
        with raises_problems(("at", "timezone")):
            FixedClock(at=dt.datetime(2026, 1, 5))

    def test_shifted_counts_elapsed_time(self):
        """Two hours after 01:00 on the US spring-forward night is 04:00 EDT, not 03:00."""
        clock = FixedClock(at=dt.datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK))
        later = clock.shifted(dt.timedelta(hours=2)).now()
        assert later.utcoffset() == dt.timedelta(hours=-4)
        assert (later.hour, later.minute) == (4, 0)

    def test_shifted_refuses_non_timedelta(self):
        """shifted takes a timedelta."""
        with raises_problems(("delta", "type")):
            FixedClock(at=dt.datetime(2026, 1, 5, tzinfo=UTC)).shifted(3)  # type: ignore[arg-type]

    def test_now_from_checks_the_clock(self):
        """A clock that answers naive, or is not a clock, is refused by name."""

        class NaiveClock:
            def now(self) -> dt.datetime:
                return dt.datetime(2026, 1, 1)

        with raises_problems(("clock.now()", "timezone")):
            now_from(NaiveClock())
        with raises_problems(("clock", "type")):
            now_from(object())  # type: ignore[arg-type]
        at = dt.datetime(2026, 1, 5, tzinfo=UTC)
        assert now_from(FixedClock(at=at)) == at


class TestCanonical:
    def test_any_zone_becomes_utc(self):
        """pendulum and stdlib times in any zone become the same instant in stdlib UTC."""
        p = pendulum.datetime(2026, 7, 1, 9, 30, tz="Europe/London")
        c = canonical(p)
        assert type(c) is dt.datetime
        assert c.tzinfo is UTC
        assert c == dt.datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
        fixed = canonical(pendulum.datetime(2026, 1, 1, tz=pendulum.FixedTimezone(3600)))
        assert fixed == dt.datetime(2025, 12, 31, 23, tzinfo=UTC)

    @pytest.mark.parametrize(("fold", "hour"), [(0, 5), (1, 6)])
    def test_repeated_hour_keeps_its_side(self, fold, hour):
        """The first 01:30 of the US fall-back night is 05:30Z, the second 06:30Z."""
        c = canonical(dt.datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=fold))
        assert c == dt.datetime(2026, 11, 1, hour, 30, tzinfo=UTC)

    def test_utc_kept_as_is(self):
        """A stdlib UTC datetime is returned untouched (the hot path)."""
        x = dt.datetime(2026, 1, 1, tzinfo=UTC)
        assert canonical(x) is x

    def test_non_datetimes_pass_through(self):
        """Anything else is left for the field check to report."""
        assert canonical("2026") == "2026"  # type: ignore[arg-type]
        naive = dt.datetime(2026, 1, 1)
        assert canonical(naive) is naive

    def test_broken_tzinfo_is_reported_not_raised(self):
        """A tzinfo whose utcoffset() raises is reported by the check, not as its own exception."""

        class Broken(dt.tzinfo):
            def utcoffset(self, _):
                return dt.timedelta(hours=30)

        x = dt.datetime(2026, 1, 1, tzinfo=Broken())
        assert canonical(x) is x
        with raises_problems(("value", "timezone")):
            ensure_aware(x)


class TestDatetimeFormat:
    @pytest.mark.parametrize(
        ("fold", "expected"),
        [
            (0, "2026-11-01T01:30:00-04:00[America/New_York]"),
            (1, "2026-11-01T01:30:00-05:00[America/New_York]"),
        ],
    )
    def test_repeated_hour(self, fold, expected):
        """The two 01:30s of the US fall-back night have different offsets and come back apart."""
        x = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=fold)
        assert format_datetime(x) == expected
        back = parse_datetime(expected)
        assert back.fold == fold
        assert back.utcoffset() == x.utcoffset()

    def test_fixed_offset_has_no_zone(self):
        """A fixed offset writes plain ISO 8601."""
        x = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        assert format_datetime(x) == "2026-03-02T09:30:00+08:00"

    def test_z_suffix_read(self):
        """'Z' is read as UTC."""
        assert parse_datetime("2026-03-02T01:30:00Z") == dt.datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("2026-03-02T09:30:00", "timezone"),  # no UTC offset: funnelkit refuses to guess one
            ("yesterday", "format"),
            ("2026-03-02T09:30:00+08:00[Mars/Olympus]", "format"),
            ("2026-03-02T09:30:00+08:00[../../etc/passwd]", "format"),
            ("2026-07-01T09:30:00+00:00[America/New_York]", "timezone"),  # an offset the zone does not use
        ],
    )
    def test_bad_datetimes(self, text, code):
        """Bad datetime strings are refused with the kind of problem."""
        with raises_problems(("text", code)):
            parse_datetime(text)

    @given(aware_datetimes())
    def test_round_trip(self, x):
        """Every aware datetime comes back equal, with the same offset and zone."""
        x = canonical(x)
        back = parse_datetime(format_datetime(x))
        assert back == x
        assert back.utcoffset() == x.utcoffset()
        if isinstance(x.tzinfo, zoneinfo.ZoneInfo):
            assert back.tzinfo is x.tzinfo


class TestDurationFormat:
    @pytest.mark.parametrize(
        ("delta", "text"),
        [
            (dt.timedelta(0), "PT0S"),
            (dt.timedelta(minutes=5), "PT5M"),
            (dt.timedelta(days=1, hours=2), "P1DT2H"),
            (dt.timedelta(seconds=1.5), "PT1.5S"),
            (dt.timedelta(microseconds=1), "PT0.000001S"),
            (dt.timedelta(minutes=-5), "-PT5M"),
        ],
    )
    def test_known_forms(self, delta, text):
        """Durations write and read as ISO 8601 durations."""
        assert format_duration(delta) == text
        assert parse_duration(text) == delta

    @pytest.mark.parametrize(
        "text", ["", "P", "PT", "-P", "P1DT", "PT1.S", "P1H", "5 minutes", "PT1.1234567S"]
    )
    def test_bad_durations(self, text):
        """Malformed durations are refused with an example of a good one."""
        with raises_problems(("text", "format")):
            parse_duration(text)

    def test_too_long(self):
        """A duration past timedelta's range is refused, not an OverflowError."""
        with raises_problems(("text", "range")):
            parse_duration("P9999999999D")

    @given(st.timedeltas())
    def test_round_trip(self, delta):
        """Every timedelta survives the round trip exactly."""
        assert parse_duration(format_duration(delta)) == delta


class TestDaylightSavingGaps:
    """The rule: a wall time the clocks skip is refused; a repeated one is kept with its fold."""

    NY = zoneinfo.ZoneInfo("America/New_York")

    def test_a_skipped_time_is_refused_with_the_field(self):
        """02:30 on 8 March 2026 does not exist in New York: refused, naming the field and the zone."""
        with raises_problems(("created_at", "timezone")):
            ensure_aware(dt.datetime(2026, 3, 8, 2, 30, tzinfo=self.NY), field="created_at")

    def test_an_entity_refuses_a_skipped_time(self):
        """Entities apply the same rule to every time field."""
        with raises_problems(("at", "timezone")):
            FixedClock(at=dt.datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/London")))

    @pytest.mark.parametrize("fold", [0, 1])
    def test_a_repeated_time_is_accepted_with_its_fold(self, fold):
        """01:30 on 1 November 2026 happens twice in New York; fold picks which, 5 or 4 hours from UTC."""
        at = dt.datetime(2026, 11, 1, 1, 30, tzinfo=self.NY, fold=fold)
        assert ensure_aware(at).utcoffset() == dt.timedelta(hours=-4 - fold)

    def test_the_times_around_the_gap_are_fine(self):
        """01:59 and 03:00 exist on either side of the skipped hour; a fixed offset never has a gap."""
        for wall in (dt.datetime(2026, 3, 8, 1, 59), dt.datetime(2026, 3, 8, 3, 0)):
            ensure_aware(wall.replace(tzinfo=self.NY))
        ensure_aware(dt.datetime(2026, 3, 8, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))))

    def test_pendulum_moves_a_skipped_time_forward_itself(self):
        """pendulum normalises 02:30 to 03:30 when it builds the time, so what arrives exists."""
        at = pendulum.datetime(2026, 3, 8, 2, 30, tz="America/New_York")
        assert ensure_aware(at).hour == 3
