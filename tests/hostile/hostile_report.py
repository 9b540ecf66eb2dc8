"""Run the hostile battery outside pytest and print what it found: python tests/hostile/hostile_report.py."""

import collections
import sys
import time

from hostile_harness import World, cases, in_context, outcome, run_cases
from hostile_values import CONTEXTS


def main(argv: list[str]) -> int:
    start = time.monotonic()
    world = World()
    only = argv[1:] if len(argv) > 1 else None
    total = bad = 0
    kinds: collections.Counter[str] = collections.Counter()
    for name in sorted(world.missing):
        print(f"MISSING {name}: {world.missing[name]}")
    for name, call in sorted(world.calls.items()):
        if only and not any(o in name for o in only):
            continue
        todo = cases(call)
        failures = run_cases(call, todo)
        total += len(todo)
        bad += len(failures)
        for case, why in failures:
            kinds[why.split(":")[0]] += 1
            print(f"FAIL {name} {case.param} = {case.label}: {why}")
    for label, context in CONTEXTS.items():
        for name, call in sorted(world.calls.items()):
            if (only and not any(o in name for o in only)) or name.startswith("funnelkit.strategies."):
                continue
            if outcome(call) != in_context(call, context):
                print(f"CONTEXT {label} {name}")
    print(f"callables {len(world.targets)}, with a working call {len(world.calls)}")
    print(f"cases {total}, mishandled {bad}, handled {total - bad}; {time.monotonic() - start:.0f} s")
    print(kinds.most_common())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
