// The scenarios, in run order (they share one server; each uses its own channel or
// unique texts, so any subset runs alone too).
import liveChat from "./live-chat.mjs";
import offlineSend from "./offline-send.mjs";
import reloadOffline from "./reload-offline.mjs";
import bigChannel from "./big-channel.mjs";
import multiTab from "./multi-tab.mjs";
import secondOrigin from "./second-origin.mjs";
import keyboard from "./keyboard.mjs";
import strictMode from "./strict-mode.mjs";
import snapshotFirstPaint from "./snapshot-first-paint.mjs";
import members from "./members.mjs";
import mentions from "./mentions.mjs";
import muteArchive from "./mute-archive.mjs";
import search from "./search.mjs";

export const scenarios = [liveChat, offlineSend, reloadOffline, bigChannel, multiTab, secondOrigin, keyboard, strictMode, snapshotFirstPaint, members, mentions, muteArchive, search];
