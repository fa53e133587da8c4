"""Start-up of the command line: `zammad-sla --help` and `zammad-sla <command> --help`, warm.

    python benchmarks/bench_cli.py [--repeat 5]

Each is run `--repeat` times in a fresh interpreter (the console script's own code:
`from zammad_sla_plugin.cli import main; main()`), after one unmeasured run that warms the
file cache; the best wall time counts (the least disturbed by the machine's other work).
Peers in the same run: `python -c pass` (the interpreter alone) and `python -c "import
click"` (the least any click command line costs). Goal: every line under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from zammad_sla_plugin.cli import SUBCOMMANDS  # noqa: E402

GOAL_SECONDS = 0.3
ENTRY = "import sys; from zammad_sla_plugin.cli import main; sys.argv[0] = 'zammad-sla'; main()"


def best_of(argv: list[str], repeat: int) -> float:
    """Least wall time of `repeat` runs of `argv` (after one warm-up run)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    times = []
    for run in range(repeat + 1):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True, cwd=REPO_ROOT)
        if run:
            times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Time the interpreter, click, and every `--help`; print each against the goal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per line (default 5)")
    args = parser.parse_args()
    python = best_of([sys.executable, "-c", "pass"], args.repeat)
    click = best_of([sys.executable, "-c", "import click"], args.repeat)
    print(f"best of {args.repeat} warm runs; peers: `python -c pass` {python:.3f} s, `python -c 'import click'` {click:.3f} s")
    worst = 0.0
    for command in ["", *sorted(SUBCOMMANDS)]:
        seconds = best_of([sys.executable, "-c", ENTRY, *([command] if command else []), "--help"], args.repeat)
        worst = max(worst, seconds)
        label = f"zammad-sla {command} --help".replace("  ", " ")
        print(f"  {label:40s} {seconds:.3f} s  ({seconds - python:+.3f} s over the interpreter, {seconds / click:.2f}x click's)")
    print(f"slowest {worst:.3f} s: goal (every --help under {GOAL_SECONDS} s) {'met' if worst < GOAL_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
