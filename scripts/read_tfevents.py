#!/usr/bin/env python3
"""Reads TensorBoard event files with the `tensorboard` package's own readers and prints JSON.

Used by the Swift tests to check that the files AtariArena writes by hand are what TensorBoard
reads. Two modes:

  read_tfevents.py PATH          PATH is a run folder or one events file. Loads it with
                                 EventAccumulator (what TensorBoard's scalar dashboard uses;
                                 several files in a folder are merged) and prints
                                 {"scalars": {tag: [[step, value, wall_time], ...]}}.
  read_tfevents.py --raw FILE    Reads one file record by record with LegacyEventFileLoader
                                 (CRC-checked TFRecord reader, no compat rewriting) and prints
                                 {"events": [{"wall_time", "step", "file_version",
                                              "values": [{"tag", "simple_value"}]}]}.

Exit status 2 with a sentence on stderr when tensorboard is not installed.
"""
import json
import sys


def main(argv):
    raw = "--raw" in argv
    paths = [a for a in argv if a != "--raw"]
    if len(paths) != 1:
        print("usage: read_tfevents.py [--raw] PATH", file=sys.stderr)
        return 2
    path = paths[0]
    try:
        from tensorboard.backend.event_processing import event_accumulator, event_file_loader
    except ImportError:
        print("The Python package 'tensorboard' is not installed; run 'make test' (it installs "
              "the test packages) or 'pip install tensorboard'.", file=sys.stderr)
        return 2

    if raw:
        events = []
        for event in event_file_loader.LegacyEventFileLoader(path).Load():
            events.append({
                "wall_time": event.wall_time,
                "step": event.step,
                "file_version": event.file_version if event.HasField("file_version") else None,
                "values": [{"tag": v.tag, "simple_value": v.simple_value}
                           for v in event.summary.value] if event.HasField("summary") else [],
            })
        json.dump({"events": events}, sys.stdout)
        return 0

    acc = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = {}
    for tag in acc.Tags()[event_accumulator.SCALARS]:
        scalars[tag] = [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)]
    json.dump({"scalars": scalars}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
