

# The names MLflow 3's MlflowClient.log_image(key=, step=) writes (mlflow/tracking/client.py:
# "images/{key with / as ~}+step+{step}+timestamp+{ms}+{uuid}.png" and "+compressed.webp";
# 3.0-3.x before mlflow#21085: "%" separators).
def test_logged_images_grouped_by_key_in_step_order():
    from tui.tracking.artifacts import Artifact, image_steps

    uuid = "0b5c6f2e-8a1d-4c3e-9f7a-1234567890ab"
    names = [
        f"samples~pred+step+10+timestamp+1700000000100+{uuid}.png",
        f"samples~pred+step+10+timestamp+1700000000100+{uuid}+compressed.webp",
        f"samples~pred+step+2+timestamp+1700000000000+{uuid}.png",
        f"samples~pred+step+2+timestamp+1700000000000+{uuid}+compressed.webp",
        f"confusion%step%5%timestamp%1700000000050%{uuid}%compressed.webp",  # only a copy
        "notes.txt",
    ]
    entries = [Artifact(f"images/{n}", False, 100) for n in names] + [
        Artifact("images/sub", True)]
    groups, rest = image_steps(entries)
    assert [g.key for g in groups] == ["confusion", "samples/pred"]
    confusion, pred = groups
    assert [s for s, _ in pred.steps] == [2, 10]
    assert all(a.path.endswith(".png") for _, a in pred.steps), "the full-resolution file"
    assert [a.path.endswith(".webp") for _, a in confusion.steps] == [True]
    assert [a.path for a in rest] == ["images/notes.txt", "images/sub"]
    assert pred.index_of(pred.steps[1][1].path) == 1 and pred.index_of("nope") is None
