"""`splashaudit analyze` end to end: outputs, exit codes, bad input, escaping of app text."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True,
                          text=True, timeout=300)


def draw_splash(path: Path, skip_text: str, extra_text: str = "") -> None:
    """A 1080 x 2400 splash ad: a gradient 'photo', a skip pill, an ad label and a jump button."""
    ramp = np.linspace(60, 200, 2400, dtype=np.uint8)[:, None, None]
    pixels = np.concatenate([np.broadcast_to(ramp, (2400, 1080, 1)),
                             np.full((2400, 1080, 1), 90, np.uint8),
                             np.broadcast_to(255 - ramp, (2400, 1080, 1))], axis=2)
    image = Image.fromarray(np.ascontiguousarray(pixels))
    draw = ImageDraw.Draw(image)
    big, small = ImageFont.truetype(FONT, 42), ImageFont.truetype(FONT, 30)
    draw.rounded_rectangle((820, 120, 1030, 200), 40, fill=(0, 0, 0))
    draw.text((865, 133), skip_text, font=big, fill=(255, 255, 255))
    draw.rounded_rectangle((30, 2230, 120, 2280), 8, fill=(0, 0, 0))
    draw.text((45, 2236), "广告", font=small, fill=(255, 255, 255))
    draw.rounded_rectangle((180, 1880, 900, 1980), 50, fill=(255, 255, 255))
    draw.text((250, 1905), "点击跳转详情或第三方应用", font=big, fill=(30, 30, 30))
    if extra_text:
        draw.text((120, 900), extra_text, font=big, fill=(255, 255, 255))
    image.save(path)


@pytest.fixture(scope="module")
def screens(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("screens")
    draw_splash(folder / "good.png", "跳过 5", extra_text="<script>alert(1)</script>")
    Image.new("RGB", (1080, 2400), (250, 250, 250)).save(folder / "plain.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_outputs_json_report_and_exit_codes(screens, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "result.json"
    proc = run_cli("analyze", str(screens), str(bad), str(tmp_path / "missing.png"),
                   "--profile", "android-1080x2400-3.0", "--json", str(out), "--report", str(tmp_path / "rep"))
    assert proc.returncode == 2, proc.stderr          # unreadable input wins over violations
    errors = [line for line in proc.stderr.splitlines() if line.startswith("splashaudit: ")]
    assert any("broken.png" in e and ("not an image" in e or "cannot decode" in e) for e in errors)
    assert any("missing.png" in e and "no such file" in e for e in errors)
    assert "Traceback" not in proc.stderr
    entries = {Path(e["image"]).name: e for e in json.loads(out.read_text())}
    assert set(entries) == {"good.png", "plain.png", "broken.png", "missing.png"}
    good = entries["good.png"]
    assert good["screen"]["kind"] == "splash_ad" and good["size_px"] == [1080, 2400]
    skip = good["close_controls"][0]
    assert skip["kind"] == "text" and "跳过" in skip["text"]
    x, y, w, h = skip["bbox"]
    assert abs(x - 820) < 15 and abs(y - 120) < 15 and abs(w - 210) < 25 and abs(h - 80) < 20
    assert skip["size_dp"][1] == pytest.approx(h / 3.0, abs=0.1)
    assert good["countdown"]["seconds"] == 5 and good["ad_label"]["text"] == "广告"
    assert good["jump_buttons"] and {f["rule"] for f in good["findings"]} >= {
        "CLOSE_PRESENT", "CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "AD_LABEL"}
    assert entries["plain.png"]["screen"]["kind"] == "normal" and not entries["plain.png"]["findings"]
    assert entries["broken.png"]["error"]
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "<script>alert(1)" not in page
    assert any(t["text"] == "<script>alert(1)</script>" for t in good["texts"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_exit_zero_without_violations_and_one_with(screens, tmp_path):
    assert run_cli("analyze", str(screens / "good.png"), "--density", "3").returncode == 0
    tiny = tmp_path / "tiny.png"
    draw_splash(tiny, "跳过 5")
    image = Image.open(tiny)
    ImageDraw.Draw(image).rounded_rectangle((820, 120, 1030, 200), 40, fill=(80, 80, 80))
    image.save(tiny)           # the skip pill is gone: an ad with no close control
    proc = run_cli("analyze", str(tiny), "--density", "3", "--json", str(tmp_path / "o.json"))
    assert proc.returncode == 1
    findings = json.loads((tmp_path / "o.json").read_text())[0]["findings"]
    assert {"rule": "CLOSE_PRESENT", "verdict": "violation"}.items() <= findings[0].items()


def test_bad_profile_and_bad_rules_are_one_line_usage_errors(screens, tmp_path):
    proc = run_cli("analyze", str(screens / "good.png"), "--profile", "no-such-phone")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no-such-phone" in proc.stderr
    rules = tmp_path / "rules.toml"
    rules.write_text("[CLOSE_SIZE]\nvisible_violation_dp = 'big'\n")
    proc = run_cli("analyze", str(screens / "good.png"), "--rules", str(rules))
    assert proc.returncode == 2 and str(rules) in proc.stderr and proc.stderr.count("\n") == 1


def test_rule_profile_thresholds_change_the_verdict(screens, tmp_path):
    from vision.rules import _default_text
    strict = tmp_path / "strict.toml"
    strict.write_text(_default_text().replace("visible_violation_dp = 12.0", "visible_violation_dp = 40.0"))
    out = tmp_path / "o.json"
    proc = run_cli("analyze", str(screens / "good.png"), "--density", "3", "--rules", str(strict),
                   "--json", str(out))
    assert proc.returncode == 1
    size = next(f for f in json.loads(out.read_text())[0]["findings"] if f["rule"] == "CLOSE_SIZE")
    assert size["verdict"] == "violation" and size["evidence"]["threshold_dp"]["visible_violation_dp"] == 40.0
