"""What on-screen words mean: close/skip controls, countdowns, ad labels, jump buttons, permissions.

Matching is on whole, normalised texts: a close control's label is short and says nothing else, so
"跳过" matches while "跳过片头片尾" and "跳过广告怎么弄" (content that merely contains the word) do not.
"""

from __future__ import annotations

import re
import unicodedata

#: Labels that dismiss an ad or pop-up, normalised (lower case, no spaces or punctuation).
SKIP_WORDS = {"跳过", "跳过广告", "skip", "skipad", "skipads", "skipvideo", "跳過", "跳过视频"}
DISMISS_WORDS = {
    "关闭", "关闭广告", "取消", "暂不", "暂不需要", "暂不更新", "暂不开启", "暂不升级", "暂时不要", "以后再说",
    "下次再说", "稍后再说", "稍后", "不了", "不用了", "不需要", "不感兴趣", "知道了", "我知道了", "残忍拒绝",
    "残忍离开", "放弃", "忽略", "关掉", "關閉", "取消更新",
    "close", "closead", "nothanks", "nothank", "later", "maybelater", "notnow", "cancel", "dismiss",
    "notinterested", "remindmelater", "gotit", "noway", "skipfornow",
    # The refusals of real dialogs: consent (不同意并退出), offers (No), upsells (Not now).
    "不同意", "不同意并退出", "拒绝并退出", "拒绝", "暂不同意", "no", "nothanksimgood", "notnowthanks",
    "skipthis", "closeandcontinue", "maybenexttime", "nextime", "notthistime", "remindmeinaweek",
    "nothankyou", "refuse", "deny", "ipass", "illpass", "nope",
    # The hesitations Chinese pop-ups offer instead of a ✕ (再想想: let me think again).
    "我再想想", "再想想", "残忍退出", "狠心离开", "狠心拒绝", "忍痛放弃", "不再提醒", "不再提示", "下次吧",
    # Refusals in the European languages real apps ship in.
    "plustard", "nonmerci", "annuler", "fermer", "pasmaintenant", "ignorer", "cancelar", "cerrar",
    "decline", "declineall", "reject", "rejectall", "disagree", "donotagree", "idonotagree", "idisagree",
    "ahorano", "másadelante", "masadelante", "nogracias", "abbrechen", "schließen", "schliessen",
    "später", "spater", "neindanke", "jetztnicht", "annulla", "chiudi", "nograzie", "piùtardi",
}
#: A refusal said in a few words: "Skip login", "No, thanks, I'm good", "Do not agree and close".
_DISMISS_PHRASE = re.compile(
    r"^(skip|close|cancel|decline|dismiss|no,? thanks|no,? thank you|not now|maybe later|later|do not agree|"
    r"don'?t agree|disagree|reject|refuse|not interested)([\s,.!]+[a-z'’]+){0,4}[.!]?$", re.IGNORECASE)
#: Going on without what the pop-up offers is refusing it: "Continue without signing in", "Call without
#: Adding Funds". Not an upsell's promise ("Listen without ads", "Continue without limits").
_WITHOUT_PHRASE = re.compile(
    r"^(continue|proceed|go on|carry on|call)( [a-z'’]+){0,2} without(?! (ads?|limits|interruptions)\b)"
    r"( [a-z'’]+){1,4}[.!]?$", re.IGNORECASE)
#: What each dismiss word does, a feature of the learned judgement of a candidate control: a word
#: that closes outright ("关闭", "Close") is a surer way out than one that only declines an offer
#: ("No", "取消"), which a feed or a form may also show.
DISMISS_KINDS = {
    "close": {"关闭", "关闭广告", "关掉", "關閉", "close", "closead", "fermer", "cerrar", "schließen",
              "schliessen", "chiudi", "closeandcontinue"},
    "later": {"暂不", "暂不需要", "暂不更新", "暂不开启", "暂不升级", "暂时不要", "以后再说", "下次再说", "稍后再说",
              "稍后", "later", "maybelater", "notnow", "remindmelater", "skipfornow", "plustard",
              "pasmaintenant", "ahorano", "másadelante", "masadelante", "später", "spater", "jetztnicht",
              "piùtardi", "maybenexttime", "nextime", "notthistime", "remindmeinaweek", "notnowthanks"},
    "acknowledge": {"知道了", "我知道了", "gotit"},
}
#: "暂不开通", "暂不登录", "暂不领取": not now, for whatever the pop-up offers; "暂不支持" (not supported)
#: and the like state a fact instead.
_NOT_NOW = re.compile(r"^暂不(?!支持|可用|开放|提供|满足|清楚|确定)[\u4e00-\u9fff]{1,2}$")
#: Glyph characters an OCR engine may return for a drawn ✕.
CROSS_CHARS = {"x", "×", "✕", "✖", "╳", "✗", "ⅹ"}
AD_LABELS = {"广告", "ad", "ads", "赞助", "sponsored", "推广", "promoted", "廣告", "advertisement", "testad"}
#: An ad label at the head of a line, set off by a bracket or a mark: "[广告]已在Wi-Fi下预加载", "Ad · 0:10".
_AD_LABEL_HEAD = re.compile(r"^\s*[\[【(（]?\s*(广告|廣告|赞助|推广|ads?|sponsored|test ad)\s*[\]】)）·•|丨│｜:：]",
                            re.IGNORECASE)
JUMP_PATTERNS = [
    r"点击跳转", r"跳转详情", r"第三方应用", r"立即下载", r"了解更多", r"查看详情", r"立即领取", r"去看看",
    r"立即购买", r"立即抢购", r"马上抢", r"打开看看", r"去逛逛", r"立即体验", r"点击查看", r"摇动手机",
    r"^install(now)?$", r"^learnmore$", r"^download(now)?$", r"^getit(now)?$", r"^shopnow$", r"^open$",
    r"^playnow$", r"^signup$", r"^viewmore$",
]
#: Words that make a line part of a system permission prompt, and the permission each names.
PERMISSION_KINDS = [   # order matters: "拍摄照片" is the camera, "照片、媒体内容和文件" is storage
    ("location", r"位置|定位|location"),
    ("contacts", r"通讯录|通讯|联系人|contacts"),
    ("calendar", r"日历|日程|calendar"),
    ("camera", r"相机|拍摄|拍照|camera|摄像头|take pictures"),
    ("microphone", r"麦克风|录音|录制音频|microphone|record audio"),
    ("phone", r"电话|通话|拨打|phone call|make and manage phone"),
    ("storage", r"存储|文件|storage|files"),
    ("photos", r"相册|照片|图片|photos|media|gallery|图库"),
    ("notifications", r"通知|notifications"),
    ("bluetooth", r"蓝牙|附近的设备|nearby devices|bluetooth"),
]
PERMISSION_QUESTION = re.compile(
    r"(是否)?允许.{0,24}(访问|使用|获取|拍摄|录制|拨打|发送|查找|连接)|想(要)?访问|想使用|请求.{0,8}权限|"
    r"allow .{0,40}(to )?(access|take|record|make|send|find|use)|would like to access|wants to access",
    re.IGNORECASE)
PERMISSION_BUTTONS = {
    "允许", "不允许", "拒绝", "禁止", "始终允许", "仅使用期间允许", "使用应用时允许", "仅在使用中允许", "仅限这一次",
    "本次运行允许", "仅在使用该应用期间允许", "好", "allow", "deny", "dontallow", "whileusingtheapp",
    "onlythistime", "allowonce", "allowwhileusingapp", "ok", "拒绝并不再询问", "始终不允许",
}
#: A purpose statement names why ("用于…", "为了…", "以便…") a permission is used.
PURPOSE_PATTERN = re.compile(
    r"用于|用来|为了|以便|便于|目的|说明|需要.{0,8}(权限|访问|获取)|申请|将获取|以为您|为您提供|"
    r"why we need|we use|used to|so that|to (show|find|help|let|provide|scan|take|save|upload|recommend)|"
    r"in order to|purpose", re.IGNORECASE)

#: A countdown alone ("5", "5s", "(5)", "3秒"), or in words: "Reward in 5s", "Skip in 5",
#: "5 seconds remaining", "8秒后可领取奖励", "剩余5秒". Group ``n`` holds the seconds.
_COUNTDOWNS = [
    re.compile(r"^\(?(?P<n>\d{1,2})\)?\s*(s|秒|sec|secs|seconds?)?$", re.IGNORECASE),
    re.compile(r"^(reward|skip|close|ad|video|(you can )?skip (this )?ad|(ad|video) ends?)( will end)? in "
               r"(?P<n>\d{1,2}) ?(s|sec|secs|seconds?)?$", re.IGNORECASE),
    re.compile(r"^(?P<n>\d{1,2}) ?(s|sec|secs|seconds?) (remaining|left)$", re.IGNORECASE),
    re.compile(r"^(?P<n>\d{1,2}) ?秒(后.{1,8})?$"),
    re.compile(r"^(剩余|倒计时|还剩) ?(?P<n>\d{1,2}) ?秒$"),
]
_NUMBER = re.compile(r"\d{1,2}")
_SEPARATORS = re.compile(r"[\s|丨│｜/·•:：,，。.!！?？()（）\[\]【】<>《》\"'“”‘’_\-—]+")


def normalise(text: str) -> str:
    """Lower-case, width-fold (full-width to ASCII) and drop spaces and punctuation."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _SEPARATORS.sub("", folded)


def countdown_seconds(text: str) -> int | None:
    """Seconds shown by a countdown ("5", "5s", "3秒", "(5)", "Reward in 5s"); None for anything else."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    match = next(filter(None, (pattern.match(text) for pattern in _COUNTDOWNS)), None)
    if not match:
        return None
    seconds = int(match.group("n"))
    return seconds if 0 < seconds <= 60 else None


def _strip_countdown(norm: str) -> tuple[str, int | None]:
    """Split "跳过5", "5s跳过" or "skip5s" into the label and the seconds it shows."""
    numbers = _NUMBER.findall(norm)
    label = re.sub(r"\d{1,2}(s|秒|sec)?", "", norm)
    return label, (int(numbers[0]) if numbers else None)


#: The longest label ("remindmelater") with room for a countdown ("5s").
_MAX_LABEL_CHARS = max(map(len, SKIP_WORDS | DISMISS_WORDS)) + 3


def close_label(text: str) -> tuple[str, int | None] | None:
    """("skip" or "dismiss", countdown seconds or None) for a close control's label, else None.

    "跳过 5", "5s | 跳过", "Skip Ad", "以后再说", "No thanks" match; "5秒后可跳过" and "Skip in 5" do not:
    they announce a control that is not there yet.
    """
    norm = normalise(text)
    spaced = " ".join(unicodedata.normalize("NFKC", text).split())
    if _WITHOUT_PHRASE.match(spaced):   # a phrase may run longer than any label
        return "dismiss", None
    if not norm or len(norm) > _MAX_LABEL_CHARS or "可跳过" in norm or "后跳过" in norm or "skipin" in norm:
        return None
    label, seconds = _strip_countdown(norm)
    if label in SKIP_WORDS:
        return "skip", seconds
    if label in DISMISS_WORDS and (seconds is None or label in {"关闭", "close", "关闭广告"}):
        return "dismiss", seconds
    if _NOT_NOW.match(label) and seconds is None:
        return "dismiss", None
    if seconds is None and _DISMISS_PHRASE.match(spaced):
        return "dismiss", None
    return None


_CLOSE_WORDS_LONGEST_FIRST = tuple(sorted((w for w in SKIP_WORDS | DISMISS_WORDS if len(w) >= 2),
                                           key=len, reverse=True))


def dismiss_kind(text: str) -> str | None:
    """"skip", "close", "later", "acknowledge" or "decline" for a close control's label, else None."""
    if is_cross_text(text):
        return "close"
    label = close_label(text)
    if label is None:
        return None
    if label[0] == "skip":
        return "skip"
    word, _ = _strip_countdown(normalise(text))
    if _NOT_NOW.match(word):
        return "later"
    found = next((kind for kind, words in DISMISS_KINDS.items() if word in words), None)
    if found is None:   # a phrase: what its first words do
        found = next((kind for kind, words in DISMISS_KINDS.items()
                      if any(word.startswith(w) for w in words if w.isascii() and len(w) >= 5)), "decline")
    return found


def close_word_at_edge(text: str) -> str | None:
    """"start" or "end" when a line that is not itself a close label begins or ends with one (the
    detector may run a pop-up's "关闭" and the dimmed text beside it into one line), else None."""
    norm = normalise(text)
    if close_label(text) is not None:
        return None
    for word in _CLOSE_WORDS_LONGEST_FIRST:
        if len(norm) > len(word):
            if norm.endswith(word):
                return "end"
            if norm.startswith(word):
                return "start"
    return None


def is_cross_text(text: str) -> bool:
    return normalise(text) in CROSS_CHARS


def ad_label(text: str) -> bool:
    """True for an ad label: "广告", "AD", "Sponsored", "赞助"; also "广告 | xx" short forms, and a
    label heading a line ("Ad · 0:10")."""
    norm = normalise(text)
    if norm in AD_LABELS:
        return True
    return (len(norm) <= 4 and norm.startswith("广告")) or ad_label_head(text) is not None


def ad_label_head(text: str) -> tuple[int, int] | None:
    """(start, end) character offsets of an ad label heading a longer line, else None."""
    text = unicodedata.normalize("NFKC", text)
    match = _AD_LABEL_HEAD.match(text)
    if not match or not normalise(text[match.end():]):
        return None      # "[Ad]": the label is the whole line
    return match.span(1)


#: Buttons that take up what a dialog offers: the partner of its way out, in the same row.
ACCEPT_WORDS = {
    "ok", "okay", "yes", "确定", "确认", "好", "好的", "同意", "同意并继续", "允许", "继续", "accept", "agree",
    "iagree", "acceptall", "continue", "allow", "sure", "install", "installnow", "update", "updatenow",
    "upgrade", "subscribe", "ratenow", "rate", "rateus", "signin", "login", "signup", "register", "去开启",
    "开启", "立即开启", "立即更新", "更新", "立即升级", "去看看", "立即领取", "领取", "去评价", "好评", "buy", "buynow",
    "tryitfree", "tryfree", "starttrial", "getpremium", "gopremium", "confirm", "send", "retry", "settings",
    "设置", "去设置", "登录", "立即登录", "注册", "open", "view", "watch", "play", "share", "download",
}


def accept_button(text: str) -> bool:
    """A button that takes the offer ("OK", "确定", "INSTALL", "Rate now"), not one that declines it."""
    norm = normalise(text)
    return norm in ACCEPT_WORDS or (len(norm) <= 12 and jump_button(text))


def jump_button(text: str) -> bool:
    norm = normalise(text)
    return len(norm) <= 20 and any(re.search(p, norm) for p in JUMP_PATTERNS)


_QUOTED_NAME = re.compile(r"[“\"「『][^”\"」』]{1,20}[”\"」』]")


#: Jump buttons that lead out of the app (a store, a download, a third party): the mark of an ad,
#: where "立即领取" or "去看看" on a pop-up may be the app's own promotion.
EXTERNAL_JUMP = re.compile(r"第三方|下载|安装|了解更多|install|download|learnmore|getit|shopnow|playnow",
                           re.IGNORECASE)


def external_jump(text: str) -> bool:
    return bool(EXTERNAL_JUMP.search(normalise(text)))


#: Words that ask for the phone to be shaken, twisted or turned: the cue of a shake ad ("摇一摇",
#: "摇动手机", "扭一扭", "Shake your phone"), matched on normalised text. A milkshake or "Shake Shack"
#: is no cue, nor an app's own "Shake to snooze" or "Shake to undo": English counts on its own, with
#: the phone, or followed by what an ad offers.
SHAKE_CUE = re.compile(r"摇一摇|摇摇手机|摇动手机|摇晃手机|晃动手机|晃一晃|扭一扭|扭动手机|转动手机|翻转手机|甩一甩|甩动手机|"
                       r"^shake(it|now)?$|^shake(your|the)?(phone|device)$|^shake((your|the)?(phone|device))?(?=(to|for)"
                       r"(learn|open|view|visit|install|download|shop|get|explore|discover|see|find|jump|win|play|claim))")
#: What a shake ad says shaking does: opens a detail page, another app, a download.
SHAKE_RESULT = re.compile(r"跳转|详情|第三方|打开|进入|前往|查看|了解|访问|下载|安装|领取|购买|抢购|去看看|浏览|"
                          r"open|learnmore|visit|goto|view|install|download|shop|details?")


def shake_cue(text: str) -> tuple[int, int] | None:
    """(start, end) of the words asking for a shake in normalised ``text`` ("摇一摇"), else None."""
    match = SHAKE_CUE.search(normalise(text))
    return match.span() if match else None


def shake_result(text: str) -> bool:
    """Whether ``text`` says what shaking leads to ("跳转详情页或第三方应用", "Shake to learn more")."""
    return bool(SHAKE_RESULT.search(normalise(text)))


#: What a page outside the app shows: a store's or an ad landing page's download or install button,
#: a browser's address. (Asked only of a screen that a touch led to and the app never showed before.)
OUTSIDE_APP = re.compile(r"下载|安装|应用商店|应用市场|appstore|googleplay|install|download|openapp|打开app",
                         re.IGNORECASE)
_ADDRESS = re.compile(r"^\s*(https?://)?([\w-]+\.)+(com|cn|net|org|io|app|top|xyz)(/\S*)?\s*$", re.IGNORECASE)


def outside_app(text: str) -> bool:
    """Words only a page outside the app shows (a store, a download page, a browser's address bar)."""
    return bool(OUTSIDE_APP.search(normalise(text)) or _ADDRESS.match(text))


def permission_kind(text: str) -> str | None:
    """The permission a prompt's text asks for, if it is a permission question."""
    if not PERMISSION_QUESTION.search(text):
        return None
    text = _QUOTED_NAME.sub("", text)   # the app's name ("云相册") says nothing of the permission
    for kind, pattern in PERMISSION_KINDS:
        if re.search(pattern, text, re.IGNORECASE):
            return kind
    return "other"


def permission_button(text: str) -> bool:
    return normalise(text) in PERMISSION_BUTTONS


def states_purpose(text: str) -> bool:
    return bool(PURPOSE_PATTERN.search(text))
