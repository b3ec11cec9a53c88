# Ferry's window in English: the reference catalog. Every other catalog has
# the same keys; a key missing there falls back to this one.
#
# Keys: <area>-<what>[-<detail>], lower-case words joined by "-". The area is
# the window part the text belongs to (top, status, tab, peers, add-peer,
# compose, offer, upload, message, transfers, history, settings, share,
# network-check, notice, title, common...). Variables are snake_case:
# $name (a device's name), $count (a number that chooses the plural form),
# $size (a size already written as "4.2 MiB"), $folder, $address, $port.
# Numbers of 1,000 and more are written grouped ("250,000"); a port comes
# as text, so it never is.

# The language's own name, shown in Settings.
language-name = English

## Shared words

common-cancel = Cancel
common-copy = Copy
common-dismiss = Dismiss

## Window title (shown by the desktop, e.g. in the task bar)

window-title-attention = { $waiting ->
    [0] Ferry — { $sentence }
   *[other] ({ $waiting }) Ferry — { $sentence }
}
title-offer-message = { $name } wants to send a message
title-offer-files = { $name } wants to send { $count ->
    [one] 1 file
   *[other] { $count } files
}
title-message = Message from { $name }
title-transfer-ended = Transfer from { $name } ended
title-upload = A browser at { $address } wants to send { $count ->
    [0] files
    [one] 1 file
   *[other] { $count } files
}
title-upload-ended = Upload from { $name } ended

## Top bar and status bar

top-this-device-caption = This device:
top-this-device-hint = The name other devices see for this computer (change it in Settings)
top-brand = Ferry
top-share = 🌐 Share via browser…
top-share-hint = Share files with any phone or computer on this network through a link
top-sharing = Sharing
top-send-text = 💬 Send text…
top-send-folder = { $icon } Send folder…
top-send-files = { $icon } Send files…
status-ready = Ready to receive on port { $port }
status-not-receiving = Not receiving
status-download-dir = Received files go to { $folder }

## Tabs

tab-transfers = { $active ->
    [0] Transfers
   *[other] Transfers ({ $active })
}
tab-history = History
tab-settings = Settings

## Notices (problems that belong to no transfer)

notice-port-in-use = Port { $port } is in use (is Ferry already running?). This window listens on port { $fallback } instead; devices that only know port { $port } cannot reach it.
notice-alias-clash = Another device is also called “{ $name }”, so this one is now called “{ $renamed }”. You can choose another name in Settings.
notice-engine-busy = Ferry is busy and could not take that request; please try again.
notice-engine-stopped = Ferry's engine has stopped; restart Ferry to keep transferring.
notice-no-address = { $name } has no address to send to.
notice-no-file-dialog = Ferry cannot open a file dialog on this desktop. Drop files on the window instead, or install “xdg-desktop-portal-gtk” (or “zenity”) and try again.
notice-no-folder-dialog = Ferry cannot open a folder dialog on this desktop. Type the folder’s path in the field instead, or install “xdg-desktop-portal-gtk” (or “zenity”) and try again.
notice-saved-device-not-found = A saved device { $address } cannot be found: { $reason }
notice-cannot-save = Cannot save { $path }: { $error }.
notice-cannot-start-thread = Cannot start a helper thread: { $error }.
notice-cannot-open = Could not open { $path } (no file manager answered).
notice-cannot-open-no-opener = Could not open { $path }: { $opener } is not available ({ $error }).

## File dialogs (their title bar)

dialog-pick-files = Choose files to send
dialog-pick-folder = Choose a folder to send
dialog-pick-download-dir = Choose where received files go
dialog-pick-share-files = Choose files to share
dialog-pick-share-folder = Choose a folder to share

## Devices panel

peers-title = Devices
peers-online-count = { $count } online
peers-hint-several = Click devices to choose where drops go. Several can be chosen.
peers-hint-one = Drop files on the window to send them here.
peers-add-by-address = ➕ Add by address…
peers-check-network = Check network
peers-empty-title = No devices found yet
peers-empty-looking = Ferry keeps looking for other computers running Ferry on this network.
peers-empty-discovery-off = Looking for devices is off; add them by address.
peers-empty-check-intro = If a computer does not show up, check that:
peers-empty-check-open = Ferry is open on the other computer
peers-empty-check-network = both are on the same network (same Wi-Fi or LAN, not a guest network)
peers-empty-check-firewall = no firewall blocks UDP port 47812 or TCP port 47813
peers-online = Online
peers-offline = Offline
peers-no-address = no address
peers-tile-hover-found-select = { $name } ({ $os }, found on this network). Click to select it as a target.
peers-tile-hover-found-unselect = { $name } ({ $os }, found on this network). Click to unselect it as a target.
peers-tile-hover-added-select = { $name } ({ $os }, added by address). Click to select it as a target.
peers-tile-hover-added-unselect = { $name } ({ $os }, added by address). Click to unselect it as a target.
peers-tile-hover-offline = Offline: not seen on the network right now. It leaves this list after a while; × forgets it now.
peers-send = Send
peers-menu-send-text = Send text…
peers-menu-forget = Forget this device
peers-forget-hint = Forget { $name }
peers-forget-address = Stop trying this address
peers-not-answering = No Ferry answers at this address yet. Ferry keeps trying every few seconds.

add-peer-title = Add a device by address
add-peer-intro = For a computer that does not appear by itself (another subnet, a VPN, a blocked broadcast).
add-peer-address = Address (IP or host name, optionally :port)
add-peer-add = Add
add-peer-looking = Looking…
add-peer-keep-trying = Keep trying
add-peer-keep-trying-hint = Keep this address in the device list and try it every few seconds, e.g. while the other computer is switched off
add-peer-error-not-found = Ferry could not find a computer called “{ $name }”. Check the spelling, or type its IP address instead (for example 192.168.1.20; the other computer’s network settings show it).
add-peer-error-no-answer = Nothing answered at { $address }. Check that the other computer is switched on and Ferry is open there, that the address is right, and that both are on the same network. A firewall on the other computer may also be blocking Ferry (it receives on port { $port }, the number after the “:”).
add-peer-error-not-ferry = Something answered at { $address }, but it is not Ferry (or it is a Ferry too old to talk to this one). Check the address, and the number after the “:” if you typed one: Ferry uses 47813 unless it was changed in its Settings.
add-peer-error-itself = { $address } is this computer. Type the address of the other computer.

compose-title = Send a message
compose-no-devices = No devices yet: add one first.
compose-to = To:
compose-message = Message
compose-placeholder = A link, a code, a note…
compose-send = Send message

## Incoming offers, uploads and messages

message-from = Message from { $name }
offer-title-message = { $name } wants to send you a message
offer-title-files = { $name } wants to send you { $count ->
    [one] 1 file
   *[other] { $count } files
}
offer-title-files-in-folders = { $name } wants to send you { $count ->
    [one] 1 file
   *[other] { $count } files
} in { $folders ->
    [one] 1 folder
   *[other] { $folders } folders
}
offer-device-line = { $os } · { $address } · device { $code }
offer-total = Total { $size }
offer-free-space = · { $size } free in the download folder
offer-not-enough-space = Not enough space
offer-pairing-code = Pairing code
offer-pairing-same = — { $name } shows the same code if nobody is in between.
offer-accept = Accept
offer-decline = Decline
offer-always-accept = Always accept from { $name }
offer-always-accept-hint = Accept this and future offers from this device without asking. You can revoke this in Settings.
offer-and-more = and { $count } more
upload-title = A browser at { $address } wants to send you { $count ->
    [0] files
    [one] 1 file
   *[other] { $count } files
}
upload-through-share = Through your browser share
upload-through-share-into = Through your browser share · saved in { $folder }
upload-about = About { $size }
upload-size-unknown = The browser did not say how much

## Settings

settings-save = Save
settings-undo = Undo changes
settings-saved = Saved.
settings-saved-restart = Saved. Ports, interfaces and LocalSend take effect when Ferry restarts.
settings-device-name = Device name
settings-download-dir = Save received files in
settings-choose = Choose…
settings-port = Port
settings-port-hint = TCP, for incoming transfers (applies after restart)
settings-share-port = Browser share port
settings-share-port-hint = TCP, for Share via browser; 0 picks a free port for each share
settings-interfaces = Network interfaces
settings-interfaces-placeholder = all
settings-interfaces-hint = e.g. eth0, wlan0 — empty means all (applies after restart)
settings-pin = PIN for senders
settings-pin-placeholder = none
settings-pin-hint = Optional: devices that are not trusted must type it to send here
settings-theme = Theme
settings-theme-system = Follow system
settings-theme-light = Light
settings-theme-dark = Dark
settings-language = Language
settings-language-system = System ({ $language })
settings-trusted-title = Accepted without asking
settings-trusted-none = No device is trusted: every offer asks first. Choose “Always accept from …” on an offer to add one.
settings-trusted-intro = Offers from these devices are accepted at once. The trust is tied to each device's key: another device using the same name is refused.
settings-revoke = Revoke { $name }
settings-error-alias-empty = The device name cannot be empty.
settings-error-alias-long = The device name is too long ({ $bytes } bytes; at most { $max }).
settings-error-download-dir = Choose a download folder.
settings-error-port = The port must be a number from 1024 to 65535.
settings-error-share-port = The browser share port must be 0 (any free port) or a number from 1024 to 65535.

## The "To send" tray and dropping files

tray-title = To send
tray-clear = Clear
tray-remove = Remove from the tray
tray-folder-size = { $count ->
    [one] 1 file
   *[other] { $count } files
}, { $size }
tray-summary = { $count ->
    [one] 1 item
   *[other] { $count } items
}
tray-summary-size = { $count ->
    [one] 1 item
   *[other] { $count } items
}, { $size }
tray-send-to-one = Send to { $name }
tray-send-to-many = Send to { $count } devices
tray-no-device = No device to send to yet: see Devices on the left.
tray-choose-device = Choose a device on the left (or press its Send button).
drop-send-to-one = Drop to send to { $name }
drop-send-to-many = Drop to send to { $count } devices: { $names }
drop-to-tray = Drop to add to “To send”, then choose a device
drop-items = { $count ->
    [one] 1 item
   *[other] { $count } items
}
drop-names-more = { $names }, … ({ $count } items)

## Transfers

transfer-unknown-device = Unknown device
transfers-empty-title = Nothing on the move
transfers-empty-body = Drop files or folders anywhere on this window, or use Send files… above.
transfers-clear-finished = Clear finished
transfers-to = to { $name }
transfers-from = from { $name }
transfers-a-browser = a browser
transfers-browser-peer = browser { $address }
transfers-title-message = Message
transfers-title-browser = Files from a browser
transfers-title-files = { $count ->
    [one] 1 file
   *[other] { $count } files
}
transfers-title-more = { $first } and { $count } more
transfers-remove = Remove from this list
transfers-retry = Retry
transfers-retry-hint = Send again; what already arrived is not sent twice
transfers-show-file = Show file
transfers-open-folder = Open folder
transfers-cancelling = Cancelling…
transfers-counting = Counting the files to send: { $count ->
    [one] 1 file
   *[other] { $count } files
}, { $size } so far…
transfers-checksumming = Reading the files to send for their checksums: { $done } of { $count ->
    [one] 1 file
   *[other] { $count } files
}, { $size } of { $total }…
transfers-connecting = Connecting to { $name }…
transfers-waiting-message = Waiting for { $name } to accept the message…
transfers-waiting-files = Waiting for { $name } to accept { $count ->
    [one] 1 file
   *[other] { $count } files
}, { $size }…
transfers-sending-message = Sending the message…
transfers-browser-waiting = Waiting for the browser to send the files…
transfers-browser-received = { $done } received
transfers-browser-received-of = { $done } of { $total } received
transfers-saved-as = Saved as { $path }
transfers-saved-in = { $count ->
    [one] 1 file
   *[other] { $count } files
} saved in { $folder }
transfers-bytes-of = { $done } of { $total }
transfers-rate = { $size }/s
transfers-time-left = { $time } left
transfers-file-of = file { $index } of { $total }
transfers-resumed-after = resumed after { $size }
transfers-failed-kept-note = What arrived is kept: when { $name } sends again, the transfer resumes.

## How a transfer ended

outcome-word-done = Done
outcome-word-declined = Declined
outcome-word-cancelled = Cancelled
outcome-word-failed = Failed
outcome-verified = { $count ->
    [one] 1 file
   *[other] { $count } files
}, { $size }, verified
outcome-saved = { $count ->
    [one] 1 file
   *[other] { $count } files
}, { $size }, saved
outcome-message-delivered = Message delivered
outcome-message-received = Message received
outcome-you-declined = You declined
outcome-declined-by-receiver = Declined by the receiver
outcome-declined-by-receiver-because = Declined by the receiver: { $reason }
outcome-cancelled-by-you = Cancelled by you
outcome-cancelled-by-receiver = Cancelled by the receiver
outcome-cancelled-by-sender = Cancelled by the sender

## Times

time-just-now = just now
time-minutes-ago = { $count } min ago
time-hours-ago = { $count } h ago
time-yesterday = yesterday
time-days-ago = { $count ->
    [one] 1 day ago
   *[other] { $count } days ago
}
duration-seconds = { $seconds } s
duration-minutes = { $minutes } min { $seconds } s
duration-hours = { $hours } h { $minutes } min

## PIN asked by a receiver

pin-title = { $name } asks for a PIN
pin-wrong = That PIN was not right. Ask the person at that device for its PIN.
pin-needed = This device only accepts offers with its PIN. Ask the person there for it.
pin-label = PIN
pin-send = Send with PIN

## History

history-empty-title = No finished transfers yet
history-empty-body = Everything sent or received appears here, and stays after Ferry restarts.
history-latest = The latest { $shown } of { $total } finished transfers
history-count = { $count ->
    [one] 1 finished transfer
   *[other] { $count } finished transfers
}
history-clear = Clear history
history-copy-message = Copy the message
history-detail = { $way } · { $when }
history-detail-files = { $way } · { $count ->
    [one] 1 file
   *[other] { $count } files
}, { $size } · { $when }
history-still-running = Still running.

## Network check (its findings come from the check itself, in English)

network-check-title = Network check
network-check-running = Checking the network…
network-check-running-detail = Ferry listens for other devices for a few seconds, then asks each one it knows.
network-check-interfaces = This computer's networks
network-check-ports = Ports on this computer
network-check-beacons = Finding devices
network-check-devices = Other devices
network-check-what-to-do = What to do:
network-check-details = Details
network-check-run-again = Run again
network-check-copy = Copy report
network-check-no-key = Cannot load this device's key for the network check: { $error }.

## Share via browser

share-title = Share via browser
share-intro = Anyone on this network who opens the link can download what you share, in any browser: no app needed.
share-what = What to share
share-nothing-chosen = Nothing chosen yet: add files or a folder.
share-add-files = { $icon } Add files…
share-add-folder = { $icon } Add folder…
share-add-from-tray = Add { $count } from To send
share-remove = Do not share this
share-uploads = Uploads from browsers
share-uploads-off = Off: browsers can only download
share-uploads-ask = Ask me each time
share-uploads-allow = Allow without asking (this share only)
share-uploads-folder = Files sent from a browser go to { $folder }.
share-start = Start sharing
share-starting = Starting…
share-stopping = Stopping…
share-sharing = Sharing { $count ->
    [one] 1 item
   *[other] { $count } items
}, { $size }
share-open-link = Open this link on a phone or computer on the same network:
share-copy-link = Copy link
share-scan = Or scan the code with the phone's camera.
share-qr-alt = QR code of the share link
share-qr-too-long = (The link is too long for a QR code.)
share-uploads-are-off = Uploads are off.
share-uploads-are-ask = Uploads: you are asked each time; files go to { $folder }.
share-uploads-are-allowed = Uploads are allowed without asking; files go to { $folder }.
share-shared = Shared
share-folder-zip = { $count ->
    [one] 1 file
   *[other] { $count } files
}, { $size } (as ZIP)
share-downloads = Downloads
share-no-downloads = Nobody has downloaded anything yet.
share-download-to = to { $address } · { $size }
share-approve-visitors = Ask before each visitor opens the page
share-approve-visitors-hint = Each new phone or computer waits until you let it in here.
share-texts = Texts to share
share-texts-hint = A Wi-Fi password, a link, a note: the page shows it for visitors to copy.
share-text-placeholder = Type or paste a text…
share-text-add = Add text
share-text-remove = Do not share this text
share-texts-shared = { $count ->
    [one] Shared text
   *[other] Shared texts
}
share-visitors-are-asked = You are asked before each new visitor opens the page.
share-visitor-wants = { $browser } at { $address } wants to open the page
share-visitor-let-in = Let in
share-visitor-refuse = Refuse
title-visitor = { $browser } at { $address } wants to open the share page
share-stop = Stop sharing
share-stop-hint = The link stops working; a new share gets a new link.
share-stopped = Sharing stopped.
share-stopped-before-answer = Sharing stopped before the upload was answered.
share-stopped-before-finish = Sharing stopped before the upload finished.
share-note-port-taken = Port { $wanted } is in use, so this share uses port { $port }.
share-note-no-lan-address = No network address was found: only this computer can open the link.

## First contact: comparing the pairing code (app/pairing.rs)
pairing-confirm-title = Does { $name } show this code?
pairing-confirm-hint = This device has not been confirmed here. Look at its screen: if it shows the same six digits, nobody is in between. Nothing is sent before you confirm.
pairing-key-changed-send = Warning: { $name } is remembered here with another key. It may have been reinstalled — or someone is pretending to be it. Send only if a person at { $name } reads you this exact code.
pairing-confirm = Codes match — send
pairing-confirm-changed = I checked with a person there — send
pairing-refuse = Don't send
pairing-localsend-title = Send to { $name }, a LocalSend device?
pairing-localsend-hint = LocalSend shows no pairing code, so nobody can compare one: send only if you expect { $name } on this network. Ferry remembers its certificate from now on and warns you if it ever changes. Nothing is sent before you choose.
pairing-localsend-key-changed = Warning: { $name } is remembered here with another certificate. LocalSend may have been reinstalled on it — or another device is using its name. Send only if you know why it changed.
pairing-localsend-confirm = Send to this device
pairing-localsend-confirm-changed = I know why it changed — send
pairing-fingerprint = Certificate fingerprint
title-confirm-localsend = Confirm sending to { $name } (LocalSend)
pairing-shown-title = { $name } wants to send you something
pairing-shown-hint = { $name } is asking its person to compare this code. If the codes differ, someone may be in between: tell them not to send.
pairing-key-changed-receive = Warning: { $name } is remembered here with another key. It may have been reinstalled — or someone is pretending to be it. Accept only if its person confirms this code.
pairing-remembered = Remembered devices
pairing-remembered-none = No device is remembered yet: the first send to a device asks you to compare its pairing code.
pairing-remembered-hint = Sending to these devices needs no code comparison. Each is remembered by its key: another device using the same name gets a warning.
pairing-forget = Forget { $name }
pairing-where = { $address } · device { $id }
title-compare-code = Compare the code { $code } with { $name }
title-comparing-code = { $name } is comparing the code { $code }
settings-new-devices = New devices
settings-trust-new = Send without comparing the pairing code (trust on first use)
settings-trust-new-hint = Off: the first send to a device waits until you confirm it shows the same code. A known name with a new key is always asked about.

## LocalSend devices (app/peers.rs, app/settings.rs)
peers-scan-localsend = Scan for LocalSend devices
peers-scan-localsend-hint = Asks every address of this network whether LocalSend runs there.
peers-localsend-sub = { $state } · LocalSend { $kind } · { $address }
peers-tile-hover-localsend-select = { $name } (a LocalSend { $kind }). Click to select it as a target.
peers-tile-hover-localsend-unselect = { $name } (a LocalSend { $kind }). Click to unselect it as a target.
device-kind-phone = phone
device-kind-desktop = desktop
device-kind-browser = browser
device-kind-headless = headless device
device-kind-server = server
device-kind-device = device
settings-localsend = LocalSend
settings-localsend-on = Also talk to LocalSend devices
settings-localsend-port = port
settings-after-restart = (applies after restart)
settings-error-localsend-port = The LocalSend port must be a number from 1024 to 65535.
offer-no-pairing-code = Sent with LocalSend, which shows no pairing code. Its certificate fingerprint begins { $id }.

## The browser share page (sent to browsers in the language their Accept-Language asks for).
share-page-title = Files from { $device } · Ferry
share-page-heading = Files from { $device }
share-page-one-file = 1 file
share-page-many-files = { $n } files
share-page-one-folder = 1 folder
share-page-many-folders = { $n } folders
share-page-download-title = Download
share-page-download = Download
share-page-download-label = Download { $name }
share-page-zip = ZIP
share-page-zip-label = Download { $name } as ZIP
share-page-download-all = Download everything
share-page-download-all-label = Download everything as one ZIP
share-page-all-zip-name = Files from { $device }
share-page-one-by-one = Files one by one
share-page-more = and { $n } more — the ZIP has them all
share-page-nothing = Nothing is shared.
share-page-up-title = Send files to this computer
share-page-up-hint = Files are saved in the download folder of { $device }, up to { $max } at once.
share-page-up-ask = Someone at the computer will be asked to accept them.
share-page-choose-files = Choose files
share-page-choose-folder = Choose a folder
share-page-drop-here = or drop files and folders here
share-page-send = Send
share-page-texts-title = Texts
share-page-copy = Copy
share-page-copy-text-label = Copy text { $n }
share-page-copied-text = Copied
share-page-message-title = Send a message
share-page-message-hint = A note or a link; it appears on the computer's screen.
share-page-message-label = Message
share-page-send-message = Send message
share-page-message-sent = Sent.
share-page-pass-title = Open on another device
share-page-pass-hint = Scan the code with a phone's camera, or copy the link.
share-page-copy-link = Copy link
share-page-copied = Link copied
share-page-copy-failed = Copying failed: select the link and copy it
share-page-footer = Shared with Ferry over your local network. Anyone with this link can open this page while sharing is on.
share-page-stopped = Sharing has stopped: the computer no longer shares these files, or this device lost the network. Downloads and uploads will not work until it shares again.
share-page-too-big = These files are { $size } together; this computer accepts at most { $max } at once.
share-page-waiting-consent = Waiting for the person at the computer to accept…
share-page-starting = Starting…
share-page-refused = The computer refused the upload (error { $code }).
share-page-unreachable = The computer cannot be reached. Is it still sharing, and is this device on the same network?
share-page-queued = Waiting
share-page-percent-of = { $pct }% of { $size }
share-page-rate = { $rate }/s
share-page-left = { $time } left
share-page-seconds = { $n } s
share-page-minutes = { $n } min
share-page-hours = { $n } h { $m } min
share-page-saving = Sent, saving…
share-page-saved = Saved
share-page-saved-as = Saved as { $name }
share-page-not-saved = Not saved
share-page-cancel = Cancel
share-page-cancel-label = Cancel sending { $name }
share-page-cancelled = Cancelled
share-page-reconnecting = Connection lost; trying again…
share-page-gave-up = The connection was lost and did not come back. Choose the file again to continue where it stopped.
share-page-sending = Sending { $files } · { $done } of { $total }
share-page-saved-one = 1 file was saved on the computer.
share-page-saved-many = { $n } files were saved on the computer.
share-page-failed-some = { $ok } of { $all } files were saved on the computer.
share-page-nothing-saved = Nothing was saved.
share-page-result-nothing = Nothing was saved
share-page-result-saved = Saved { $files }
share-page-back = Back to the shared files

# --- branch pause ---
transfers-pause = Pause
transfers-pause-hint = Hold this transfer: nothing more is sent until you resume, and what arrived is kept
transfers-resume = Resume
transfers-resume-hint = Continue where it stopped
transfers-resume-hint-both = Lift your pause; { $name } paused it too, so it continues once { $name } resumes as well
transfers-paused = Paused
transfers-paused-by = Paused by { $name }
transfers-paused-both = Paused by you and { $name }

# --- branch resume ---
offer-resuming-after = Resuming after { $size }: only the rest will be sent
transfers-retry-all = Retry all failed ({ $count })
transfers-resume-waiting = Will resume when { $name } is back
transfers-stop-resume = Don't resume
transfers-stop-resume-hint = Stop waiting for the device. The transfer stays failed; you can retry it later.
transfers-cancel-keeps-hint = Stop the transfer. What already arrived is kept for a week, so sending again resumes it.
transfers-cancel-discard = Cancel and discard
transfers-cancel-discard-hint = Stop the transfer and delete what arrived of the file in progress
transfers-interrupted = Interrupted
