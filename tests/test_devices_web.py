"""The Chromium phone against the fixture apps, through a real Appium server.

Where a test needs to know where a control is, it asks the DOM (``element_box``) for its own
assertions; the device interface itself only sees screenshots and the foreground.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from crawler.devices.base import Foreground, decode_png

SPLASH_BGR = (54, 90, 255)          # #ff5a36, the splash ad's background
HOME_BGR = (96, 193, 7)             # #07c160, the home page's top bar
SPLASH_PROBE_PX = (50, 300)         # (x, y): plain ad background, below the 广告 label
HOME_PROBE_PX = (50, 100)           # (x, y): the home top bar


def pixel_near(image: np.ndarray, xy_px: tuple[int, int], bgr: tuple[int, int, int], tol: int = 12) -> bool:
    x, y = xy_px
    return bool(np.all(np.abs(image[y, x].astype(int) - np.array(bgr)) <= tol))


def wait_for(predicate, timeout_s: float = 3.0, interval_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


def events(device) -> list[str]:
    return [e["type"] for e in device.driver.execute_script("return window.__events || []")]


def launch(device, fixture_apps, app: str) -> Foreground:
    device.cold_launch(fixture_apps.url(app))
    return device.foreground()


def test_splash_screenshot_is_phone_sized(web_device, fixture_apps):
    base = launch(web_device, fixture_apps, "compliant")
    image = web_device.screenshot()
    assert image.shape == (2402, 1082, 3) and image.dtype == np.uint8
    assert web_device.screenshot_png().startswith(b"\x89PNG")
    assert pixel_near(image, SPLASH_PROBE_PX, SPLASH_BGR)
    assert base.package == fixture_apps.app_origin and base.window_count == 1
    assert web_device.app_running()


def test_fast_screenshot_is_the_w3c_screenshot_pixel_for_pixel(web_device, fixture_apps):
    launch(web_device, fixture_apps, "no_ad")       # a static page: both captures see the same frame
    fast = decode_png(web_device.screenshot_png())
    assert web_device._fast_screenshots, "the DevTools screenshot path fell back to W3C"
    w3c = decode_png(web_device.driver.get_screenshot_as_png())
    assert fast.shape == w3c.shape == (2402, 1082, 3)
    assert int(np.abs(fast.astype(int) - w3c.astype(int)).max()) == 0


def test_display_info_matches_the_profile(web_device, fixture_apps):
    launch(web_device, fixture_apps, "no_ad")
    info = web_device.display_info()
    assert (info.width_px, info.height_px) == web_device.profile.screen_px == (1082, 2402)
    assert info.density == pytest.approx(2.625)


def test_skip_goes_home_without_a_jump(web_device, fixture_apps):
    base = launch(web_device, fixture_apps, "compliant")
    skip = web_device.element_box("#splash .skip")
    assert skip is not None and skip.x2 <= 1082 and skip.y > 24 * 2.625
    web_device.tap(*skip.center)
    home = wait_for(lambda: pixel_near(web_device.screenshot(), HOME_PROBE_PX, HOME_BGR))
    assert home, "the skip tap did not bring the home page"
    now = web_device.foreground()
    assert not now.jump_since(base)
    assert now.identity.endswith("#home") and web_device.app_running()
    assert "skip_tap" in events(web_device)


def test_compliant_body_tap_does_nothing(web_device, fixture_apps):
    base = launch(web_device, fixture_apps, "compliant")
    web_device.tap(540, 1500)
    time.sleep(0.4)
    assert not web_device.foreground().jump_since(base)
    assert pixel_near(web_device.screenshot(), SPLASH_PROBE_PX, SPLASH_BGR)
    assert "body_tap" in events(web_device)


def test_jump_button_opens_the_landing_page_on_the_other_origin(web_device, fixture_apps):
    base = launch(web_device, fixture_apps, "compliant")
    web_device.tap(*web_device.element_box("#splash .jumpbtn").center)
    jump = wait_for(lambda: web_device.foreground().jump_since(base))
    assert jump.kind == "other_origin"
    assert web_device.foreground().package == fixture_apps.landing_origin


def test_fullscreen_body_tap_is_a_jump(web_device, fixture_apps):
    base = launch(web_device, fixture_apps, "fullscreen_jump")
    web_device.tap(540, 1500)
    jump = wait_for(lambda: web_device.foreground().jump_since(base))
    assert jump and jump.kind == "other_origin"
    assert not web_device.app_running()


def test_new_window_is_a_jump_and_cold_launch_closes_it(web_device, fixture_apps):
    base = launch(web_device, fixture_apps, "no_ad")
    web_device.driver.execute_script("window.open(arguments[0])", fixture_apps.url("no_ad"))
    jump = wait_for(lambda: web_device.foreground().jump_since(base))
    assert jump.kind == "new_window"
    again = launch(web_device, fixture_apps, "no_ad")
    assert again.window_count == 1 and not again.jump_since(base)


def test_cold_launch_clears_storage(web_device, fixture_apps):
    launch(web_device, fixture_apps, "no_ad")
    web_device.driver.execute_script("localStorage.setItem('seen_ad', '1'); document.cookie = 'c=1; path=/'")
    launch(web_device, fixture_apps, "no_ad")
    left = web_device.driver.execute_script("return [localStorage.length, document.cookie]")
    assert left == [0, ""]


def test_page_source_is_the_dom(web_device, fixture_apps):
    launch(web_device, fixture_apps, "compliant")
    source = web_device.page_source()
    assert "跳过" in source and "广告" in source


def test_dead_close_stays(web_device, fixture_apps):
    base = launch(web_device, fixture_apps, "dead_close")
    web_device.tap(*web_device.element_box("#splash .skip").center)
    time.sleep(1.0)
    assert not web_device.foreground().jump_since(base)
    assert pixel_near(web_device.screenshot(), SPLASH_PROBE_PX, SPLASH_BGR)


def test_fake_close_jumps(web_device, fixture_apps):
    base = launch(web_device, fixture_apps, "fake_close")
    web_device.tap(*web_device.element_box("#splash .skip").center)
    assert wait_for(lambda: web_device.foreground().jump_since(base)).kind == "other_origin"


def test_repop_comes_back(web_device, fixture_apps):
    launch(web_device, fixture_apps, "repop")
    web_device.tap(*web_device.element_box("#splash .skip").center)
    assert wait_for(lambda: pixel_near(web_device.screenshot(), HOME_PROBE_PX, HOME_BGR), 1.0)
    assert wait_for(lambda: pixel_near(web_device.screenshot(), SPLASH_PROBE_PX, SPLASH_BGR), 2.5)


def test_tiny_close_hugs_the_corner(web_device, fixture_apps):
    launch(web_device, fixture_apps, "tiny_close")
    ratio = web_device.pixel_ratio
    box = web_device.element_box(".tinyclose")
    assert box.w <= 9 * ratio and box.h <= 9 * ratio
    assert 1082 - box.x2 < 4 * ratio and box.y < 4 * ratio
    web_device.tap(*box.center)
    assert wait_for(lambda: pixel_near(web_device.screenshot(), HOME_PROBE_PX, HOME_BGR))


def test_no_close_and_late_close_start_with_a_countdown_only(web_device, fixture_apps):
    for app in ("no_close", "late_close"):
        launch(web_device, fixture_apps, app)
        assert web_device.element_box("#splash .skip") is None
        assert web_device.element_box("#splash .ring") is not None


@pytest.mark.parametrize("app, purpose", [("permission_with_purpose", True), ("permission_no_purpose", False)])
def test_permission_prompt_and_deny(web_device, fixture_apps, app, purpose):
    launch(web_device, fixture_apps, app)
    deny = wait_for(lambda: web_device.element_box(".permdialog button[data-choice=deny]"), 3.0)
    assert deny is not None
    assert (web_device.element_box(".purpose") is not None) == purpose
    assert "访问此设备的位置信息" in web_device.page_source()
    web_device.tap(*deny.center)
    assert wait_for(lambda: web_device.element_box(".permdialog") is None, 1.0)


def test_popup_closes_with_its_x(web_device, fixture_apps):
    launch(web_device, fixture_apps, "popup_compliant")
    close = wait_for(lambda: web_device.element_box(".popclose"), 3.0)
    web_device.tap(*close.center)
    assert wait_for(lambda: web_device.element_box(".popup") is None, 1.0)
    assert "popup_closed" in events(web_device)


def test_every_fixture_app_loads(web_device, fixture_apps):
    apps = fixture_apps.apps()
    assert len(apps) == 24
    for app in apps:
        base = launch(web_device, fixture_apps, app)
        assert base.package == fixture_apps.app_origin, app
        assert web_device.driver.execute_script("return document.getElementById('statusbar') !== null"), app


def test_fade_close_pill_shows_and_takes_taps_only_after_4_s(web_device, fixture_apps):
    launch(web_device, fixture_apps, "fade_close")
    style = "const e = document.querySelector('#splash .skip'); const s = getComputedStyle(e);" \
            "return [s.opacity, s.pointerEvents, (window.__events.find(x => x.type === 'close_shown') || {}).t_ms]"
    opacity, pointer, shown_ms = web_device.driver.execute_script(style)
    assert float(opacity) == 0 and pointer == "none" and shown_ms is None
    assert wait_for(lambda: web_device.driver.execute_script(style)[2] is not None, 6.0)
    opacity, pointer, shown_ms = web_device.driver.execute_script(style)
    assert 3900 <= shown_ms <= 5000 and pointer == "auto"


def test_photo_ad_frames_are_jpeg_and_smaller_than_png(web_device, fixture_apps):
    launch(web_device, fixture_apps, "fade_close")      # a 9 s photo-like ad
    jpeg, png = web_device.frame_bytes(), web_device.screenshot_png()
    assert jpeg[:3] == b"\xff\xd8\xff" and png[:4] == b"\x89PNG"
    assert decode_png(jpeg).shape == decode_png(png).shape
    assert len(jpeg) < len(png) / 2



def test_the_session_asks_appium_to_outlive_a_minute_without_commands():
    # A video ad's frames are analysed after the watch with nothing asked of the phone; Appium's
    # default newCommandTimeout (60 s) ended the session of a busy machine there. (The chromium
    # driver does not echo the capability back, so the request itself is what can be checked.)
    from crawler.devices.web import web_capabilities
    from crawler.profiles import load_profile
    caps = web_capabilities(load_profile("chromium-phone"), "/tmp/x", 9515)
    assert caps["appium:newCommandTimeout"] >= 300
