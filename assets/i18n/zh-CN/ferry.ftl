# Ferry 窗口的简体中文文本。键与 en/ferry.ftl 一一对应（命名规则见那里）；
# 这里缺少的键会显示英文。
# Simplified Chinese. Same keys as en/ferry.ftl (naming rules there); a key
# missing here shows in English.

# 本语言的名称，显示在“设置”中。
language-name = 简体中文

## Shared words

common-cancel = 取消
common-copy = 复制
common-dismiss = 关闭

## Window title

window-title-attention = { $waiting ->
    [0] Ferry — { $sentence }
   *[other] ({ $waiting }) Ferry — { $sentence }
}
title-offer-message = { $name } 想发送一条消息
title-offer-files = { $name } 想发送 { $count } 个文件
title-message = 来自 { $name } 的消息
title-transfer-ended = 来自 { $name } 的传输已结束
title-upload = 地址为 { $address } 的浏览器想发送{ $count ->
    [0] 文件
   *[other] { " " }{ $count } 个文件
}
title-upload-ended = 来自 { $name } 的上传已结束

## Top bar and status bar

top-this-device-caption = 本机：
top-this-device-hint = 其他设备看到的这台电脑的名称（可在“设置”中修改）
top-brand = Ferry
top-share = 🌐 通过浏览器共享…
top-share-hint = 通过一个链接，把文件共享给同一网络中的任何手机或电脑
top-sharing = 正在共享
top-send-text = 💬 发送文本…
top-send-folder = { $icon } 发送文件夹…
top-send-files = { $icon } 发送文件…
status-ready = 已准备好接收，端口 { $port }
status-not-receiving = 未在接收
status-download-dir = 收到的文件保存在 { $folder }

## Tabs

tab-transfers = { $active ->
    [0] 传输
   *[other] 传输（{ $active }）
}
tab-history = 历史记录
tab-settings = 设置

## Notices

notice-port-in-use = 端口 { $port } 已被占用（Ferry 是否已在运行？）。本窗口改为在端口 { $fallback } 上监听；只知道端口 { $port } 的设备无法连接到这里。
notice-alias-clash = 另一台设备也叫“{ $name }”，所以本机现在叫“{ $renamed }”。可以在“设置”中另取名字。
notice-engine-busy = Ferry 正忙，未能处理这个请求，请重试。
notice-engine-stopped = Ferry 的引擎已停止；请重新启动 Ferry 以继续传输。
notice-no-address = { $name } 没有可发送的地址。
notice-no-file-dialog = Ferry 无法在此桌面上打开文件选择窗口。请直接把文件拖到窗口上，或安装 “xdg-desktop-portal-gtk”（或 “zenity”）后再试。
notice-no-folder-dialog = Ferry 无法在此桌面上打开文件夹选择窗口。请直接在输入框中填写文件夹路径，或安装 “xdg-desktop-portal-gtk”（或 “zenity”）后再试。
notice-saved-device-not-found = 找不到已保存的设备 { $address }：{ $reason }
notice-cannot-save = 无法保存 { $path }：{ $error }。
notice-cannot-start-thread = 无法启动辅助线程：{ $error }。
notice-cannot-open = 无法打开 { $path }（没有文件管理器响应）。
notice-cannot-open-no-opener = 无法打开 { $path }：{ $opener } 不可用（{ $error }）。

## File dialogs

dialog-pick-files = 选择要发送的文件
dialog-pick-folder = 选择要发送的文件夹
dialog-pick-download-dir = 选择接收文件的保存位置
dialog-pick-share-files = 选择要共享的文件
dialog-pick-share-folder = 选择要共享的文件夹

## Devices panel

peers-title = 设备
peers-online-count = { $count } 台在线
peers-hint-several = 点击设备，选择拖放文件的发送目标。可以选择多台。
peers-hint-one = 把文件拖放到窗口上，即可发送到这台设备。
peers-add-by-address = ➕ 按地址添加…
peers-check-network = 检查网络
peers-empty-title = 尚未找到设备
peers-empty-looking = Ferry 会持续在此网络中寻找其他运行 Ferry 的电脑。
peers-empty-discovery-off = 设备搜索已关闭；请按地址添加设备。
peers-empty-check-intro = 如果某台电脑没有出现，请检查：
peers-empty-check-open = 另一台电脑上已打开 Ferry
peers-empty-check-network = 两台电脑在同一网络中（同一 Wi-Fi 或局域网，而不是访客网络）
peers-empty-check-firewall = 没有防火墙阻止 UDP 端口 47812 或 TCP 端口 47813
peers-online = 在线
peers-offline = 离线
peers-no-address = 无地址
peers-tile-hover-found-select = { $name }（{ $os }，在此网络中发现）。点击将其选为发送目标。
peers-tile-hover-found-unselect = { $name }（{ $os }，在此网络中发现）。点击取消选择。
peers-tile-hover-added-select = { $name }（{ $os }，按地址添加）。点击将其选为发送目标。
peers-tile-hover-added-unselect = { $name }（{ $os }，按地址添加）。点击取消选择。
peers-tile-hover-offline = 离线：目前在网络上找不到它。一段时间后会自动从列表中移除；点 × 可立即移除。
peers-send = 发送
peers-menu-send-text = 发送文本…
peers-menu-forget = 移除此设备
peers-forget-hint = 移除 { $name }
peers-forget-address = 不再尝试此地址
peers-not-answering = 此地址上还没有 Ferry 应答。Ferry 每隔几秒会再试一次。

add-peer-title = 按地址添加设备
add-peer-intro = 适用于不会自动出现的电脑（位于其他子网、通过 VPN 连接或广播被阻止）。
add-peer-address = 地址（IP 或主机名，可附加 :端口）
add-peer-add = 添加
add-peer-looking = 正在查找…
add-peer-keep-trying = 继续尝试
add-peer-keep-trying-hint = 把这个地址保留在设备列表中，每隔几秒再试一次（例如对方电脑暂时关机时）
add-peer-error-not-found = Ferry 找不到名为“{ $name }”的电脑。请检查拼写，或改为输入它的 IP 地址（例如 192.168.1.20，可在对方电脑的网络设置中找到）。
add-peer-error-no-answer = { $address } 没有应答。请确认对方电脑已开机并打开了 Ferry、地址无误，并且两台电脑在同一网络中。对方电脑上的防火墙也可能拦截了 Ferry（它在端口 { $port } 上接收，即“:”后面的数字）。
add-peer-error-not-ferry = { $address } 有应答，但它不是 Ferry（或是版本太旧、无法与本机通信的 Ferry）。请检查地址；如果输入了“:”后面的数字，也请检查它：除非在设置中改过，Ferry 使用 47813。
add-peer-error-itself = { $address } 就是这台电脑。请输入另一台电脑的地址。

compose-title = 发送消息
compose-no-devices = 还没有设备：请先添加一台。
compose-to = 发送给：
compose-message = 消息
compose-placeholder = 链接、验证码、备注……
compose-send = 发送消息

## Incoming offers, uploads and messages

message-from = 来自 { $name } 的消息
offer-title-message = { $name } 想给你发送一条消息
offer-title-files = { $name } 想给你发送 { $count } 个文件
offer-title-files-in-folders = { $name } 想给你发送 { $folders } 个文件夹中的 { $count } 个文件
offer-device-line = { $os } · { $address } · 设备 { $code }
offer-total = 共 { $size }
offer-free-space = · 下载文件夹剩余 { $size }
offer-not-enough-space = 空间不足
offer-pairing-code = 配对码
offer-pairing-same = —— 如果中间没有他人介入，{ $name } 会显示相同的配对码。
offer-accept = 接受
offer-decline = 拒绝
offer-always-accept = 总是接受 { $name } 发来的内容
offer-always-accept-hint = 接受这次以及此设备以后发来的所有内容，不再询问。可以在“设置”中撤销。
offer-and-more = 还有 { $count } 项
upload-title = 地址为 { $address } 的浏览器想给你发送{ $count ->
    [0] 文件
   *[other] { " " }{ $count } 个文件
}
upload-through-share = 通过你的浏览器共享
upload-through-share-into = 通过你的浏览器共享 · 保存到 { $folder }
upload-about = 约 { $size }
upload-size-unknown = 浏览器没有说明大小

## The "To send" tray and dropping files

tray-title = 待发送
tray-clear = 清空
tray-remove = 从待发送中移除
tray-folder-size = { $count } 个文件，{ $size }
tray-summary = { $count } 项
tray-summary-size = { $count } 项，{ $size }
tray-send-to-one = 发送给 { $name }
tray-send-to-many = 发送给 { $count } 台设备
tray-no-device = 还没有可发送的设备：请看左侧的“设备”。
tray-choose-device = 请在左侧选择一台设备（或点击它的“发送”按钮）。
drop-send-to-one = 松开即可发送给 { $name }
drop-send-to-many = 松开即可发送给 { $count } 台设备：{ $names }
drop-to-tray = 松开即可加入“待发送”，然后选择设备
drop-items = { $count } 项
drop-names-more = { $names }，…（共 { $count } 项）

## Transfers

transfer-unknown-device = 未知设备
transfers-empty-title = 暂无传输
transfers-empty-body = 把文件或文件夹拖放到窗口的任意位置，或使用上方的“发送文件…”。
transfers-clear-finished = 清除已结束
transfers-to = 发送给 { $name }
transfers-from = 来自 { $name }
transfers-a-browser = 一个浏览器
transfers-browser-peer = 浏览器 { $address }
transfers-title-message = 消息
transfers-title-browser = 来自浏览器的文件
transfers-title-files = { $count } 个文件
transfers-title-more = { $first } 等 { $count } 项
transfers-remove = 从列表中移除
transfers-retry = 重试
transfers-retry-hint = 再次发送；已到达的部分不会重复发送
transfers-show-file = 显示文件
transfers-open-folder = 打开文件夹
transfers-cancelling = 正在取消…
transfers-counting = 正在统计要发送的文件：已有 { $count } 个文件，共 { $size }…
transfers-checksumming = 正在读取要发送的文件以计算校验和：{ $done }/{ $count } 个文件，{ $size }/{ $total }…
transfers-connecting = 正在连接 { $name }…
transfers-waiting-message = 正在等待 { $name } 接受这条消息…
transfers-waiting-files = 正在等待 { $name } 接受 { $count } 个文件（{ $size }）…
transfers-sending-message = 正在发送消息…
transfers-browser-waiting = 正在等待浏览器发送文件…
transfers-browser-received = 已接收 { $done }
transfers-browser-received-of = 已接收 { $done } / { $total }
transfers-saved-as = 已保存为 { $path }
transfers-saved-in = { $count } 个文件已保存到 { $folder }
transfers-bytes-of = { $done } / { $total }
transfers-rate = { $size }/秒
transfers-time-left = 剩余 { $time }
transfers-file-of = 第 { $index }/{ $total } 个文件
transfers-resumed-after = 从 { $size } 处续传
transfers-failed-kept-note = 已到达的部分会保留：{ $name } 再次发送时，传输将从中断处继续。

## How a transfer ended

outcome-word-done = 完成
outcome-word-declined = 已拒绝
outcome-word-cancelled = 已取消
outcome-word-failed = 失败
outcome-verified = { $count } 个文件，{ $size }，已校验
outcome-saved = { $count } 个文件，{ $size }，已保存
outcome-message-delivered = 消息已送达
outcome-message-received = 已收到消息
outcome-you-declined = 你已拒绝
outcome-declined-by-receiver = 接收方已拒绝
outcome-declined-by-receiver-because = 接收方已拒绝：{ $reason }
outcome-cancelled-by-you = 你已取消
outcome-cancelled-by-receiver = 接收方已取消
outcome-cancelled-by-sender = 发送方已取消

## Times

time-just-now = 刚刚
time-minutes-ago = { $count } 分钟前
time-hours-ago = { $count } 小时前
time-yesterday = 昨天
time-days-ago = { $count } 天前
duration-seconds = { $seconds } 秒
duration-minutes = { $minutes } 分 { $seconds } 秒
duration-hours = { $hours } 小时 { $minutes } 分

## PIN asked by a receiver

pin-title = { $name } 要求输入 PIN 码
pin-wrong = PIN 码不正确。请向那台设备旁的人询问它的 PIN 码。
pin-needed = 这台设备只接受带有其 PIN 码的发送请求。请向对方询问 PIN 码。
pin-label = PIN 码
pin-send = 使用 PIN 码发送

## History

history-empty-title = 还没有已结束的传输
history-empty-body = 所有发送或接收的内容都会显示在这里，Ferry 重启后依然保留。
history-latest = 最近 { $shown } 条，共 { $total } 条已结束的传输
history-count = { $count } 条已结束的传输
history-clear = 清除历史记录
history-copy-message = 复制这条消息
history-detail = { $way } · { $when }
history-detail-files = { $way } · { $count } 个文件，{ $size } · { $when }
history-still-running = 仍在进行中。

## Network check

network-check-title = 网络检查
network-check-running = 正在检查网络…
network-check-running-detail = Ferry 会先监听其他设备几秒钟，然后逐一询问它知道的每台设备。
network-check-interfaces = 本机的网络
network-check-ports = 本机的端口
network-check-beacons = 寻找设备
network-check-devices = 其他设备
network-check-what-to-do = 解决办法：
network-check-details = 详细信息
network-check-run-again = 重新检查
network-check-copy = 复制报告
network-check-no-key = 无法为网络检查加载本机的密钥：{ $error }。

## Settings

settings-save = 保存
settings-undo = 撤销更改
settings-saved = 已保存。
settings-saved-restart = 已保存。端口、网络接口和 LocalSend 设置将在 Ferry 重启后生效。
settings-device-name = 设备名称
settings-download-dir = 接收的文件保存到
settings-choose = 选择…
settings-port = 端口
settings-port-hint = TCP，用于接收传输（重启后生效）
settings-share-port = 浏览器共享端口
settings-share-port-hint = TCP，用于“通过浏览器共享”；0 表示每次共享时自动选择空闲端口
settings-interfaces = 网络接口
settings-interfaces-placeholder = 全部
settings-interfaces-hint = 例如 eth0, wlan0 —— 留空表示全部（重启后生效）
settings-pin = 发送方 PIN 码
settings-pin-placeholder = 无
settings-pin-hint = 可选：未受信任的设备必须输入它才能向这里发送
settings-theme = 主题
settings-theme-system = 跟随系统
settings-theme-light = 浅色
settings-theme-dark = 深色
settings-language = 语言
settings-language-system = 跟随系统（{ $language }）
settings-trusted-title = 无需询问即接受
settings-trusted-none = 没有受信任的设备：每次发送请求都会先询问你。在发送请求上选择“总是接受 … 发来的内容”即可添加。
settings-trusted-intro = 来自这些设备的发送请求会被立即接受。信任与每台设备的密钥绑定：使用相同名称的其他设备会被拒绝。
settings-revoke = 取消信任 { $name }
settings-error-alias-empty = 设备名称不能为空。
settings-error-alias-long = 设备名称太长（{ $bytes } 字节；最多 { $max } 字节）。
settings-error-download-dir = 请选择下载文件夹。
settings-error-port = 端口必须是 1024 到 65535 之间的数字。
settings-error-share-port = 浏览器共享端口必须是 0（任意空闲端口）或 1024 到 65535 之间的数字。

## Share via browser

share-title = 通过浏览器共享
share-intro = 同一网络中的任何人打开链接后，都可以用任意浏览器下载你共享的内容，无需安装应用。
share-what = 要共享的内容
share-nothing-chosen = 尚未选择：请添加文件或文件夹。
share-add-files = { $icon } 添加文件…
share-add-folder = { $icon } 添加文件夹…
share-add-from-tray = 从“待发送”添加 { $count } 项
share-remove = 不共享此项
share-uploads = 来自浏览器的上传
share-uploads-off = 关闭：浏览器只能下载
share-uploads-ask = 每次询问我
share-uploads-allow = 无需询问即允许（仅限本次共享）
share-uploads-folder = 从浏览器发送的文件会保存到 { $folder }。
share-start = 开始共享
share-starting = 正在启动…
share-stopping = 正在停止…
share-sharing = 正在共享 { $count } 项，{ $size }
share-open-link = 在同一网络中的手机或电脑上打开此链接：
share-copy-link = 复制链接
share-scan = 或者用手机相机扫描二维码。
share-qr-alt = 共享链接的二维码
share-qr-too-long = （链接太长，无法生成二维码。）
share-uploads-are-off = 上传已关闭。
share-uploads-are-ask = 上传：每次都会询问你；文件保存到 { $folder }。
share-uploads-are-allowed = 上传无需询问即被允许；文件保存到 { $folder }。
share-shared = 已共享
share-folder-zip = { $count } 个文件，{ $size }（以 ZIP 格式）
share-downloads = 下载
share-no-downloads = 还没有人下载。
share-download-to = 发送给 { $address } · { $size }
share-approve-visitors = 每位访客打开页面前先询问我
share-approve-visitors-hint = 每台新的手机或电脑都要等你在这里允许后才能进入。
share-texts = 要共享的文本
share-texts-hint = Wi-Fi 密码、链接或留言：页面会显示它，供访客复制。
share-text-placeholder = 输入或粘贴文本…
share-text-add = 添加文本
share-text-remove = 不共享此文本
share-texts-shared = { $count ->
   *[other] 共享的文本
}
share-visitors-are-asked = 每位新访客打开页面前都会询问你。
share-visitor-wants = { $address } 上的 { $browser } 想要打开页面
share-visitor-let-in = 允许进入
share-visitor-refuse = 拒绝
title-visitor = { $address } 上的 { $browser } 想要打开共享页面
share-stop = 停止共享
share-stop-hint = 链接将失效；新的共享会生成新的链接。
share-stopped = 共享已停止。
share-stopped-before-answer = 在回应上传请求之前，共享已停止。
share-stopped-before-finish = 在上传完成之前，共享已停止。
share-note-port-taken = 端口 { $wanted } 已被占用，因此本次共享使用端口 { $port }。
share-note-no-lan-address = 没有找到网络地址：只有本机能打开此链接。

## 初次连接：核对配对码（app/pairing.rs）
pairing-confirm-title = { $name } 显示的是这个配对码吗？
pairing-confirm-hint = 这台设备尚未在本机确认过。请看它的屏幕：如果显示的六位数字相同，说明中间没有他人介入。确认之前不会发送任何内容。
pairing-key-changed-send = 警告：本机记住的 { $name } 使用的是另一把密钥。它可能重装过系统，也可能有人在冒充它。只有当 { $name } 那边的人向你念出完全相同的配对码时才发送。
pairing-confirm = 配对码一致，发送
pairing-confirm-changed = 我已和对方核实，发送
pairing-refuse = 不发送
pairing-localsend-title = 发送给 LocalSend 设备 { $name }？
pairing-localsend-hint = LocalSend 不显示配对码，因此无法比对：只有在你确定 { $name } 就在这个网络上时才发送。Ferry 从现在起会记住它的证书，如果证书改变会提醒你。在你选择之前不会发送任何内容。
pairing-localsend-key-changed = 警告：本机记住的 { $name } 使用的是另一个证书。它可能重装了 LocalSend——也可能是另一台设备在冒用它的名字。只有在你知道证书为何改变时才发送。
pairing-localsend-confirm = 发送给这台设备
pairing-localsend-confirm-changed = 我知道它为何改变——发送
pairing-fingerprint = 证书指纹
title-confirm-localsend = 确认发送给 { $name }（LocalSend）
pairing-shown-title = { $name } 想给你发送内容
pairing-shown-hint = { $name } 正在请对方核对这个配对码。如果两边的配对码不同，可能有人在中间介入：请告诉对方不要发送。
pairing-key-changed-receive = 警告：本机记住的 { $name } 使用的是另一把密钥。它可能重装过系统，也可能有人在冒充它。只有在对方确认这个配对码后才接受。
pairing-remembered = 已记住的设备
pairing-remembered-none = 还没有记住任何设备：第一次向某台设备发送时，会请你核对它的配对码。
pairing-remembered-hint = 向这些设备发送时无需核对配对码。每台设备都按其密钥记住：其他设备若使用相同的名称，会收到警告。
pairing-forget = 忘记 { $name }
pairing-where = { $address } · 设备 { $id }
title-compare-code = 请与 { $name } 核对配对码 { $code }
title-comparing-code = { $name } 正在核对配对码 { $code }
settings-new-devices = 新设备
settings-trust-new = 不核对配对码直接发送（首次使用即信任）
settings-trust-new-hint = 关闭时：第一次向某台设备发送前，会等你确认它显示相同的配对码。已知名称配上新密钥时总会询问。

## LocalSend 设备（app/peers.rs、app/settings.rs）
peers-scan-localsend = 扫描 LocalSend 设备
peers-scan-localsend-hint = 逐一询问本网络中的每个地址是否运行着 LocalSend。
peers-localsend-sub = { $state } · LocalSend { $kind } · { $address }
peers-tile-hover-localsend-select = { $name }（LocalSend { $kind }）。点击选为发送目标。
peers-tile-hover-localsend-unselect = { $name }（LocalSend { $kind }）。点击取消选择。
device-kind-phone = 手机
device-kind-desktop = 电脑
device-kind-browser = 浏览器
device-kind-headless = 无界面设备
device-kind-server = 服务器
device-kind-device = 设备
settings-localsend = LocalSend
settings-localsend-on = 同时与 LocalSend 设备互通
settings-localsend-port = 端口
settings-after-restart = （重启后生效）
settings-error-localsend-port = LocalSend 端口必须是 1024 到 65535 之间的数字。
offer-no-pairing-code = 通过 LocalSend 发送，该协议没有配对码。其证书指纹开头为 { $id }。

## The browser share page (sent to browsers in the language their Accept-Language asks for).
share-page-title = 来自 { $device } 的文件 · Ferry
share-page-heading = 来自 { $device } 的文件
share-page-one-file = 1 个文件
share-page-many-files = { $n } 个文件
share-page-one-folder = 1 个文件夹
share-page-many-folders = { $n } 个文件夹
share-page-download-title = 下载
share-page-download = 下载
share-page-download-label = 下载 { $name }
share-page-zip = ZIP
share-page-zip-label = 将 { $name } 下载为 ZIP
share-page-download-all = 全部下载
share-page-download-all-label = 将全部内容下载为一个 ZIP
share-page-all-zip-name = 来自 { $device } 的文件
share-page-one-by-one = 逐个文件
share-page-more = 另有 { $n } 个 — ZIP 中包含全部文件
share-page-nothing = 没有共享任何内容。
share-page-up-title = 发送文件到这台电脑
share-page-up-hint = 文件保存在 { $device } 的下载文件夹中，每次最多 { $max }。
share-page-up-ask = 电脑前的人会被询问是否接受。
share-page-choose-files = 选择文件
share-page-choose-folder = 选择文件夹
share-page-drop-here = 或将文件和文件夹拖放到这里
share-page-send = 发送
share-page-texts-title = 文本
share-page-copy = 复制
share-page-copy-text-label = 复制文本 { $n }
share-page-copied-text = 已复制
share-page-message-title = 发送消息
share-page-message-hint = 一段留言或一个链接；它会显示在电脑屏幕上。
share-page-message-label = 消息
share-page-send-message = 发送消息
share-page-message-sent = 已发送。
share-page-pass-title = 在另一台设备上打开
share-page-pass-hint = 用手机相机扫描二维码，或复制链接。
share-page-copy-link = 复制链接
share-page-copied = 链接已复制
share-page-copy-failed = 复制失败：请选中链接并手动复制
share-page-footer = 通过 Ferry 在你的局域网中共享。共享开启期间，任何拥有此链接的人都能打开此页面。
share-page-stopped = 共享已停止：电脑不再共享这些文件，或此设备已断开网络。在重新共享之前，下载和上传都无法进行。
share-page-too-big = 这些文件共 { $size }；这台电脑每次最多接受 { $max }。
share-page-waiting-consent = 正在等待电脑前的人接受…
share-page-starting = 正在开始…
share-page-refused = 电脑拒绝了上传（错误 { $code }）。
share-page-unreachable = 无法连接到电脑。它是否仍在共享？此设备是否在同一网络中？
share-page-queued = 等待中
share-page-percent-of = { $size } 的 { $pct }%
share-page-rate = { $rate }/秒
share-page-left = 剩余 { $time }
share-page-seconds = { $n } 秒
share-page-minutes = { $n } 分钟
share-page-hours = { $n } 小时 { $m } 分钟
share-page-saving = 已发送，正在保存…
share-page-saved = 已保存
share-page-saved-as = 已保存为 { $name }
share-page-not-saved = 未保存
share-page-cancel = 取消
share-page-cancel-label = 取消发送 { $name }
share-page-cancelled = 已取消
share-page-reconnecting = 连接中断；正在重试…
share-page-gave-up = 连接中断且未能恢复。请重新选择该文件，从中断处继续。
share-page-sending = 正在发送 { $files } · 已完成 { $done }/{ $total }
share-page-saved-one = 1 个文件已保存到电脑上。
share-page-saved-many = { $n } 个文件已保存到电脑上。
share-page-failed-some = { $all } 个文件中有 { $ok } 个已保存到电脑上。
share-page-nothing-saved = 没有保存任何内容。
share-page-result-nothing = 没有保存任何内容
share-page-result-saved = 已保存 { $files }
share-page-back = 返回共享的文件

# --- branch pause ---
transfers-pause = 暂停
transfers-pause-hint = 暂停此传输：在你继续之前不再发送任何内容，已到达的部分会保留
transfers-resume = 继续
transfers-resume-hint = 从停下的地方继续
transfers-resume-hint-both = 解除你的暂停；{ $name } 也暂停了它，要等 { $name } 也继续后才会恢复传输
transfers-paused = 已暂停
transfers-paused-by = 已被 { $name } 暂停
transfers-paused-both = 已被你和 { $name } 暂停

# --- branch resume ---
offer-resuming-after = 从 { $size } 处继续：只发送剩余部分
transfers-retry-all = 全部重试（{ $count } 个失败）
transfers-resume-waiting = { $name } 重新上线后将自动继续
transfers-stop-resume = 不再继续
transfers-stop-resume-hint = 不再等待该设备。传输保持失败状态，之后仍可重试。
transfers-cancel-keeps-hint = 停止传输。已到达的部分会保留一周，再次发送时将从中断处继续。
transfers-cancel-discard = 取消并丢弃
transfers-cancel-discard-hint = 停止传输，并删除正在接收的文件已到达的部分
transfers-interrupted = 已中断
