"""Words and view trees: what counts as a close control, and what a page source adds to vision."""

import pytest

from vision import hierarchy, lexicon


@pytest.mark.parametrize("text, kind, seconds", [
    ("跳过", "skip", None), ("跳过 5", "skip", 5), ("5s | 跳过", "skip", 5), ("跳过广告", "skip", None),
    ("Skip Ad", "skip", None), ("SKIP 3", "skip", 3), ("关闭", "dismiss", None), ("以后再说", "dismiss", None),
    ("No thanks", "dismiss", None), ("NO THANKS", "dismiss", None), ("Maybe later", "dismiss", None),
    ("暂不", "dismiss", None), ("Not now", "dismiss", None), ("REMIND ME LATER", "dismiss", None),
    ("Not interested", "dismiss", None), ("暂不开通", "dismiss", None), ("暂不登录", "dismiss", None),
    ("Call without Adding Funds", "dismiss", None), ("Continue without signing in", "dismiss", None),
])
def test_close_labels(text, kind, seconds):
    assert lexicon.close_label(text) == (kind, seconds)


@pytest.mark.parametrize("text", [
    "跳过片头片尾", "跳过广告怎么弄", "关闭自动续费", "取消订单", "5秒后可跳过", "Skip in 5", "Skip intro",
    "点关闭就行", "立即更新", "Rate now", "5", "暂不支持", "暂不支持该地区",
    "Without limits", "Listen without ads", "Continue without ads", "Call without",
])
def test_content_that_merely_contains_a_close_word_is_not_a_label(text):
    assert lexicon.close_label(text) is None


def test_countdowns_ad_labels_and_permissions():
    assert lexicon.countdown_seconds("5s") == 5 and lexicon.countdown_seconds("3秒") == 3
    assert lexicon.countdown_seconds("跳过") is None and lexicon.countdown_seconds("500") is None
    # Video ads that show only a countdown say it in words.
    for text, seconds in [("Reward in 5s", 5), ("Reward in 5 seconds", 5), ("6 seconds remaining", 6),
                          ("8 秒后可领取奖励", 8), ("5秒后可跳过", 5), ("剩余5秒", 5), ("Ad ends in 10", 10)]:
        assert lexicon.countdown_seconds(text) == seconds, text
    assert lexicon.countdown_seconds("Cook for 5 minutes") is None
    assert lexicon.countdown_seconds("Delivery in 30 minutes") is None
    assert lexicon.ad_label("广告") and lexicon.ad_label("AD") and lexicon.ad_label("Sponsored")
    assert not lexicon.ad_label("广告位招商电话")
    # A label heading a line, set off by a bracket or a mark; not a word that merely starts a sentence.
    assert lexicon.ad_label("Test Ad") and lexicon.ad_label("Ad · 0:10")
    assert lexicon.ad_label_head("[广告]已在Wi-Fi下预加载") == (1, 3) and lexicon.ad_label_head("[Ad]") is None
    assert not lexicon.ad_label("Ad blockers are bad") and not lexicon.ad_label("Adidas shoes")
    assert lexicon.permission_kind("允许“云相册”访问您的日历？") == "calendar"
    assert lexicon.permission_kind("允许“拼拼乐”拍摄照片和录制视频吗？") == "camera"
    assert lexicon.permission_kind("Allow Foodie to access photos, media and files on your device?") == "storage"
    assert lexicon.permission_kind("今天天气不错") is None
    assert lexicon.states_purpose("位置权限使用说明：用于为您推荐附近的门店")
    assert not lexicon.states_purpose("附近的门店")


ANDROID_SOURCE = """<?xml version='1.0' encoding='UTF-8'?>
<hierarchy rotation="0">
  <android.widget.FrameLayout bounds="[0,0][1080,2400]" clickable="false">
    <android.widget.ImageView resource-id="com.x:id/splash_image" bounds="[0,0][1080,2000]" clickable="true"/>
    <android.widget.FrameLayout resource-id="com.x:id/tt_splash_skip_btn" bounds="[880,100][1040,220]" clickable="true">
      <android.widget.TextView text="跳过 3" bounds="[900,130][1020,190]" clickable="false"/>
    </android.widget.FrameLayout>
    <android.widget.TextView text="跳过片头片尾" bounds="[40,1200][400,1260]" clickable="true"/>
  </android.widget.FrameLayout>
</hierarchy>"""


def test_view_tree_gives_close_nodes_with_their_touch_targets():
    nodes = hierarchy.parse_nodes(ANDROID_SOURCE)
    close = hierarchy.close_nodes(nodes)
    texts = {n.text or n.view_id for n in close}
    assert texts == {"跳过 3", "com.x:id/tt_splash_skip_btn"}
    label = next(n for n in close if n.text == "跳过 3")
    assert label.box.to_list() == [900, 130, 120, 60]
    assert label.touch_box.to_list() == [880, 100, 160, 120]   # its clickable parent


def test_ios_points_become_pixels():
    source = ('<XCUIElementTypeApplication x="0" y="0" width="393" height="852">'
              '<XCUIElementTypeButton name="关闭" label="关闭" x="340" y="60" width="30" height="30" '
              'accessible="true" visible="true"/></XCUIElementTypeApplication>')
    close = hierarchy.close_nodes(hierarchy.parse_nodes(source, scale=3.0))
    assert [n.box.to_list() for n in close] == [[1020, 180, 90, 90]]


def test_analyzer_takes_touch_targets_and_tree_only_controls_from_the_page_source(tmp_path):
    import numpy as np
    from vision import Display, analyze

    image = np.zeros((2400, 1080, 3), np.uint8)
    image[:] = (40, 90, 200)                       # a plain ad image: vision sees no control on it
    analysis = analyze(image, Display(1080, 2400, 3.0), hierarchy_xml=ANDROID_SOURCE)
    assert analysis.screen.kind == "splash_ad"
    [control] = analysis.close_controls
    assert control.source == "hierarchy" and control.text == "跳过 3"
    assert control.touch_size_dp == (53.3, 40.0) and analysis.countdown.seconds == 3
    size = next(f for f in analysis.findings if f.rule == "CLOSE_SIZE")
    # Visible label 20 dp high (< 24) and touch target 40 dp (< 48): a warning on both counts.
    assert size.verdict == "warning" and size.evidence["touch_size_dp"] == [53.3, 40.0]
