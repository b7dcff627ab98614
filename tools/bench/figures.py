"""The figures `make bench` measures, and their summaries.

A Figure is one number the report shows (a p50 latency at one client, a
throughput, boards held, RSS...). Each repeated run adds one value; the
summary is the median, the p99 (nearest rank) and the min-max of those
values, and a target figure is met when its median is on the right side of
the target. Per-run details (a wrk latency distribution, say) are kept
beside the values so that results.json holds what the summary came from.

A figure that could not be measured (a component missing, a step failing)
carries `error`, and is reported as "not measured", never as met.
"""

import math
import statistics

import targets


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    v = sorted(values)
    k = max(1, int(math.ceil(p / 100.0 * len(v))))
    return v[k - 1]


class Figure:
    def __init__(self, fid, row, what, unit, target=None, cmp=None, reference=None,
                 command=None, note=None):
        self.id = fid            # stable key, e.g. "rest.get_boards.p50"
        self.row = row           # the DESIGN.md performance-table row it answers
        self.what = what
        self.unit = unit
        self.target = target     # number or None
        self.cmp = cmp           # "<=" or ">="
        self.reference = reference
        self.command = command
        self.note = note
        self.values = []
        self.details = []
        self.error = None

    def add(self, value, detail=None):
        self.values.append(float(value))
        self.details.append(detail)

    def fail(self, why):
        self.error = str(why)

    def summary(self):
        if not self.values:
            return None
        return {"n": len(self.values), "median": statistics.median(self.values),
                "p99": percentile(self.values, 99), "min": min(self.values),
                "max": max(self.values)}

    def met(self):
        s = self.summary()
        if self.target is None or s is None or self.error:
            return None
        if self.cmp == "<=":
            return s["median"] <= self.target
        return s["median"] >= self.target

    def to_json(self):
        return {"id": self.id, "row": self.row, "what": self.what, "unit": self.unit,
                "target": self.target, "cmp": self.cmp, "reference": self.reference,
                "command": self.command, "note": self.note, "runs": self.values,
                "details": self.details, "summary": self.summary(), "met": self.met(),
                "error": self.error}


class Results:
    """Every figure and curve of one bench run, in the order measured."""

    def __init__(self):
        self.figures = []
        self.curves = {}
        self.suites = {}

    def figure(self, *args, **kw):
        f = Figure(*args, **kw)
        self.figures.append(f)
        return f

    def target(self, fid, command=None, note=None):
        """The figure of a DESIGN.md target (targets.py), created once."""
        for f in self.figures:
            if f.id == fid:
                return f
        row, what, unit, target, cmp, ref = targets.TARGETS[fid]
        return self.figure(fid, row, what, unit, target, cmp, ref, command, note)

    def fill_missing(self, reasons):
        """Adds every target no suite produced, as not measured; reasons maps
        a row to why its suite did not run."""
        for fid, spec in targets.TARGETS.items():
            f = self.target(fid)
            if not f.values and f.error is None:
                f.fail(reasons.get(spec[0], "not measured by this run"))

    def curve(self, name, title, xlabel, points):
        """points: [{"x": clients, "p50": ms, "p99": ms, "rps": n}, ...]"""
        self.curves[name] = {"title": title, "xlabel": xlabel, "points": points}

    def suite(self, name, status, seconds, note=None):
        self.suites[name] = {"status": status, "seconds": round(seconds, 1), "note": note}
