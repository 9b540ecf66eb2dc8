"""The example service: a write that loses the race reports the version the database holds."""

import datetime as dt
import importlib.util
import pathlib

import pytest

from funnelkit import Activity, Lead
from funnelkit.errors import ConcurrencyConflict

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "embedded_service.py"
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def _service_module():
    spec = importlib.util.spec_from_file_location("embedded_service", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_write_that_loses_the_race_reports_the_stored_version():
    """Two clients read version 0; the second one's compare-and-set finds version 1 stored, and says so."""
    module = _service_module()
    service = module.Service()
    lead = Lead(
        id="w",
        source="web",
        created_at=NOW,
        owner="ann",
        company="Kim Ltd",
        contact_name="Kim",
        needs="files",
    )
    deal = service.add(lead, NOW)
    visit = Activity(id="v1", kind="visit", at=NOW + dt.timedelta(hours=2), rep_id="ann",
                     customer_id=deal.customer_id, opportunity_id=deal.id, purpose="intro",
                     needs_found="files for 40 people")  # fmt: skip
    stale = service.load(deal.id)
    service.move(deal.id, seen_version=0, now=NOW + dt.timedelta(days=1), activities=[visit])
    # The second client read the deal before the first one wrote: its load still returns version 0.
    service.load = lambda _deal_id: stale
    with pytest.raises(ConcurrencyConflict) as exc:
        service.move(deal.id, seen_version=0, now=NOW + dt.timedelta(days=2), activities=[visit])
    assert (exc.value.expected_version, exc.value.actual_version) == (0, 1)


PARTITIONS = pathlib.Path(__file__).parent.parent / "examples" / "partitions.py"


def _partitions_module():
    spec = importlib.util.spec_from_file_location("partitions", PARTITIONS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_partitions_merge_to_the_single_pass_in_a_plain_loop(capsys):
    """The partitions example, small and without Dask: every merged report equals the single pass."""
    found = _partitions_module().main(["--events", "3000", "--partitions", "3", "--no-dask"])
    assert found["merged"] == found["single"]
    assert found["events"] > 2000
    assert "plain loop" in capsys.readouterr().out


def test_partitions_merge_to_the_single_pass_with_dask():
    """With Dask installed, the bag of partitions folds to the single-pass reports."""
    pytest.importorskip("dask.bag")
    found = _partitions_module().run(events=3000, partitions=3)
    assert found["how"].startswith("Dask")
    assert found["merged"] == found["single"]
