#!/usr/bin/env bash
# The system packages the browser tests need, for `make test` and .ci/run alike: Debian's Chromium
# (Playwright drives /usr/bin/chromium and never downloads a browser) and CJK fonts (without one
# every Chinese character renders as a box): Noto Sans CJK SC, first in the app's font stack, and
# WenQuanYi Micro Hei after it (alone, it leaves ℃ after a digit blank). Present: nothing to do.
# Missing: installed with apt-get when we are root; otherwise one line naming the packages, and a
# non-zero exit before any test runs.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
if ! fc-list : family 2>/dev/null | grep -qi "WenQuanYi Micro Hei" \
  && [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  missing+=(fonts-wqy-microhei)
fi
if ! fc-list : family 2>/dev/null | grep -qi "Noto Sans CJK SC" \
  && [ ! -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
  missing+=(fonts-noto-cjk)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "缺少系统软件包 (missing system packages for the browser tests): ${missing[*]}; 请以 root 安装 (as root): apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "安装 (installing) ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null; }; then
  echo "安装失败 (apt-get could not install): ${missing[*]}; 请手动安装 (install them by hand): apt-get install -y ${missing[*]}" >&2
  exit 1
fi
