"""Notebook 03's training-curves figure, on a made-up history: one colour per transcoder in every panel, as the
legend says."""

from workbench.viz import transcoders as clt_plots


def test_training_curves_keep_one_colour_per_transcoder():
    history = [{"step": s, "reconstruction": 1 / s, "l0": [10.0, 5.0]} for s in (1, 100, 200)]
    figure = clt_plots.training_curves_figure({"PLT": history, "CLT": history})
    colours = {}
    for trace in figure.data:
        colours.setdefault(trace.name, set()).add(trace.line.color)
    assert all(len(found) == 1 and None not in found for found in colours.values())  # both panels alike
    assert colours["PLT"] != colours["CLT"]
    assert [t.name for t in figure.data if t.showlegend is not False] == ["PLT", "CLT"]
