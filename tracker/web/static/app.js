// tracker live page: draws the frames the live session sends (server-sent events),
// plays the cues, sends pain answers. No framework, nothing from elsewhere.
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("token") || "";
  const withToken = (path) => path + "?token=" + encodeURIComponent(token);
  const $ = (id) => document.getElementById(id);
  const debug = (window.trackerDebug = { frames: 0, shown: [], dom: [], cues: [], last: null, ended: false });

  // ------------------------------------------------------------------ sound
  let audio = null;
  let soundOn = true;
  let soundChosen = false; // the person pressed the button: the server default no longer applies
  function ctx() {
    if (!audio) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return null;
      audio = new AC();
      audio.onstatechange = showUnlock;
    }
    return audio;
  }
  function showUnlock() {
    $("unlock").hidden = !(soundOn && audio && audio.state === "suspended");
  }
  function tone(freq, dur, delay, gain) {
    const a = ctx();
    if (!a) return;
    const t = a.currentTime + (delay || 0);
    const o = a.createOscillator();
    const g = a.createGain();
    o.type = "sine";
    o.frequency.value = freq;
    g.gain.setValueAtTime(0.0001, t);
    g.gain.exponentialRampToValueAtTime(gain || 0.3, t + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t + dur);
    o.connect(g).connect(a.destination);
    o.start(t);
    o.stop(t + dur + 0.05);
  }
  function speak(text) {
    if (!("speechSynthesis" in window) || !text) return false;
    const u = new SpeechSynthesisUtterance(text);
    u.rate = 0.95;
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(u);
    return true;
  }
  const SOUNDS = {
    hold_start: () => { tone(523, 0.18); tone(784, 0.35, 0.18); },
    count: () => tone(880, 0.14, 0, 0.35),
    hold_end: (c) => c.complete
      ? (tone(784, 0.2), tone(659, 0.2, 0.2), tone(523, 0.5, 0.4))
      : tone(330, 0.45),
    step: () => { tone(659, 0.15); tone(988, 0.3, 0.15); },
  };
  function play(cue) {
    const entry = { seq: cue.seq, kind: cue.kind, sound: soundOn, spoken: false };
    if (soundOn) {
      (SOUNDS[cue.kind] || (() => {}))(cue);
      if (cue.kind === "step") entry.spoken = speak(cue.say);
    }
    debug.cues.push(entry);
  }
  function setSound(on) {
    soundOn = on;
    const b = $("sound");
    b.textContent = on ? "Sound on" : "Sound off";
    b.setAttribute("aria-pressed", on ? "true" : "false");
    if (on) ctx();
    if (!on && "speechSynthesis" in window) window.speechSynthesis.cancel();
    showUnlock();
  }
  $("sound").addEventListener("click", () => {
    soundChosen = true;
    setSound(!soundOn);
    if (soundOn && audio) audio.resume();
  });
  $("unlock").addEventListener("click", () => { if (audio) audio.resume().then(showUnlock); });
  document.addEventListener("pointerdown", () => { if (soundOn && audio && audio.state === "suspended") audio.resume(); });

  // ---------------------------------------------------------------- helpers
  function text(id, value) {
    const el = $(id);
    const v = value == null ? "" : String(value);
    if (el.textContent !== v) el.textContent = v;
  }
  function show(id, on) { const el = $(id); if (el.hidden === !!on) el.hidden = !on; }
  const signed = (v, digits) => {
    const s = Math.abs(v).toFixed(digits);
    return (Number(s) === 0 ? "" : v > 0 ? "+" : "−") + s + "°"; // no "−0°"
  };
  const clamp = (x) => Math.max(-1, Math.min(1, x));

  // ----------------------------------------------------------------- gauges
  const gauges = {};
  function gauge(a) {
    let g = gauges[a.key];
    if (g) return g;
    const root = document.createElement("div");
    root.className = "gauge";
    root.dataset.key = a.key;
    const [plus, minus] = a.signs.split(" / ");
    root.innerHTML =
      '<div class="g-head"><span class="g-label"></span><span class="g-value"></span></div>' +
      '<div class="g-track"><i class="g-usual"></i><i class="g-fill"></i><i class="g-mid"></i><i class="g-mark"></i>' +
      '<div class="g-ends"><span></span><span></span></div></div>';
    root.querySelector(".g-label").textContent = a.label;
    const ends = root.querySelectorAll(".g-ends span");
    ends[0].textContent = minus || "";
    ends[1].textContent = plus || "";
    $("gauges").appendChild(root);
    g = gauges[a.key] = {
      root, value: root.querySelector(".g-value"), fill: root.querySelector(".g-fill"),
      usual: root.querySelector(".g-usual"), mark: root.querySelector(".g-mark"),
    };
    return g;
  }
  function span(el, from, to) { // from/to in -1..1 of the half range
    const l = 50 + 50 * Math.min(from, to);
    const w = 50 * Math.abs(to - from);
    el.style.left = l.toFixed(2) + "%";
    el.style.width = w.toFixed(2) + "%";
  }
  function drawAngles(f) {
    for (const a of f.angles) {
      const g = gauge(a);
      g.root.classList.toggle("primary", a.primary);
      g.root.classList.toggle("beyond", a.beyond);
      const v = a.value_deg;
      g.value.textContent = v == null ? "—" : signed(v, 0);
      span(g.fill, 0, v == null ? 0 : clamp(v / a.half_range_deg));
      if (a.usual_deg == null) {
        g.usual.hidden = true; g.mark.hidden = true;
      } else {
        const u = clamp(a.usual_deg / a.half_range_deg);
        g.usual.hidden = false; g.mark.hidden = false;
        span(g.usual, 0, u);
        g.mark.style.left = (50 + 50 * u).toFixed(2) + "%";
      }
    }
    let peak = "";
    if (f.peak_deg != null) peak = "peak " + signed(f.peak_deg, 0);
    if (f.usual_peak_deg != null) peak += (peak ? " · " : "") + "usually " + Math.abs(f.usual_peak_deg).toFixed(0) + "°";
    text("peak", peak);
  }

  // ------------------------------------------------------------- step/timer
  function drawStep(f) {
    const s = f.step;
    if (s) {
      text("step-no", s.done ? "All " + (s.total - 1) + " steps done" : "Step " + s.number + " of " + s.total);
      text("step-title", s.title);
      text("step-text", s.instruction);
      text("step-note", s.note);
      show("step-note", !!s.note);
      show("skip", f.recording && !s.done);
    } else {
      text("step-no", f.calibrated ? "Exercise" : "Getting ready");
      text("step-title", f.exercise_label || (f.calibrated ? "Free session" : "Calibration"));
      text("step-text", f.calibrated ? "Stretch gently and slowly; hold at the end of the range." :
        "Sit upright on a chair and keep still for a few seconds.");
      show("step-note", false);
      show("skip", false);
    }
    $("step").classList.toggle("done", !!(s && s.done));
  }
  function drawTimer(f) {
    const c = f.countdown;
    const t = $("timer");
    if (c) {
      t.dataset.kind = c.kind;
      text("timer-label", c.kind === "hold" ? "Hold" : "Rest");
      text("timer-value", Math.ceil(Math.max(0, c.s - 1e-6)));
      text("timer-unit", "s");
      const total = c.kind === "hold" ? (f.step ? f.step.hold_target_s : f.hold && f.hold.target_s) : null;
      $("timer-fill").style.width = total ? (100 * Math.max(0, Math.min(1, c.s / total))).toFixed(1) + "%" : "0%";
    } else if (f.hold && f.hold.s != null) {
      t.dataset.kind = "held";
      text("timer-label", "Held");
      text("timer-value", Math.floor(f.hold.s));
      text("timer-unit", "s");
      $("timer-fill").style.width = "0%";
    } else {
      t.dataset.kind = f.step && f.step.done ? "done" : "none";
      text("timer-label", f.step && f.step.done ? "Done" : " ");
      text("timer-value", f.step && f.step.done ? "✓" : "");
      text("timer-unit", "");
      $("timer-fill").style.width = "0%";
    }
    text("phase", f.phase_text);
  }

  // ----------------------------------------------------------- reps, alerts
  function drawReps(f) {
    text("reps-total", f.reps.total);
    const html = f.reps.items.map((r) => "<li><span></span><b></b></li>").join("");
    const list = $("reps-list");
    if (list.children.length !== f.reps.items.length) list.innerHTML = html;
    f.reps.items.forEach((r, i) => {
      const li = list.children[i];
      li.firstChild.textContent = r.label;
      li.lastChild.textContent = r.count;
    });
    text("cracks", f.cracks ? f.cracks + " possible crack" + (f.cracks === 1 ? "" : "s") +
      " — short acceleration spikes the sensor saw, not a diagnosis" : "No possible cracks so far");
    $("cracks").classList.toggle("some", f.cracks > 0);
    text("crack-limits", f.crack_limits ? "(" + f.crack_limits + ")" : "");
    const alerts = $("alerts");
    const key = JSON.stringify(f.alerts);
    if (alerts.dataset.key !== key) {
      alerts.dataset.key = key;
      alerts.replaceChildren(...f.alerts.map((a) => {
        const li = document.createElement("li");
        li.className = "alert " + a.level + " " + a.kind;
        li.textContent = a.message;
        return li;
      }));
    }
    const log = $("log");
    const lkey = JSON.stringify(f.messages);
    if (log.dataset.key !== lkey) {
      log.dataset.key = lkey;
      log.replaceChildren(...f.messages.slice().reverse().map((m) => {
        const li = document.createElement("li");
        li.textContent = m.clock + "  " + m.text;
        return li;
      }));
    }
  }

  // -------------------------------------------------------------------- pain
  const skipped = new Set();
  let ending = false;
  let painMode = null;
  let last = null;
  async function post(path, body) {
    const r = await fetch(withToken(path), {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(j.error || "HTTP " + r.status);
    return j;
  }
  const QUESTIONS = {
    before: ["Pain before you start?", "0 = none · 10 = worst imaginable", 0],
    after: ["Pain now, after the session?", "0 = none · 10 = worst imaginable", 0],
    during: ["It hurts? Stop, and tap how much:", "", 1],
  };
  function painButtons(mode) {
    const [q, hint, from] = QUESTIONS[mode];
    $("pain-q").innerHTML = "<b></b> <span></span>";
    $("pain-q").firstChild.textContent = q;
    $("pain-q").lastChild.textContent = hint;
    const scale = $("pain-scale");
    scale.replaceChildren();
    scale.dataset.mode = mode;
    for (let n = from; n <= 10; n++) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "score";
      b.textContent = n;
      b.dataset.score = n;
      b.addEventListener("click", () => answer(mode, n));
      scale.appendChild(b);
    }
    if (mode !== "during") {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "score skip";
      b.textContent = "skip";
      b.addEventListener("click", () => answer(mode, null));
      scale.appendChild(b);
    }
    $("pain").dataset.mode = mode;
  }
  async function answer(mode, score) {
    try {
      const r = await post("pain", { when: mode, score: score });
      skipped.add(mode);
      text("pain-ack", score == null ? "" : "Pain " + mode + ": " + score + " — saved");
      if (mode === "after" && ending) post("control", { action: "stop" });
      if (last) drawPain(last);
      return r;
    } catch (e) {
      text("pain-ack", "Could not save: " + e.message);
    }
  }
  function drawPain(f) {
    let mode = "during";
    if (ending && f.pain.after == null && !skipped.has("after")) mode = "after";
    else if (f.ask && !skipped.has(f.ask)) mode = f.ask;
    if (!f.recording && mode === "during") mode = null;
    if (mode !== painMode) {
      painMode = mode;
      if (mode) painButtons(mode);
      else { $("pain-q").textContent = "The recording has ended."; $("pain-scale").replaceChildren(); }
    }
    show("end", f.recording && !ending);
  }
  $("end").addEventListener("click", () => {
    ending = true;
    if (last && last.pain.after != null) post("control", { action: "stop" });
    if (last) drawPain(last);
  });
  $("skip").addEventListener("click", () => post("control", { action: "skip" }));

  // ------------------------------------------------------------------ frame
  let lastCue = null;
  function draw(f) {
    last = f;
    debug.last = f;
    if (!soundChosen && soundOn !== f.sound) setSound(f.sound);
    const link = $("link");
    link.dataset.state = f.link.state;
    text("link-state", f.link.state);
    text("clock", f.clock);
    text("rate", f.link.rate_hz == null ? "" : f.link.rate_hz.toFixed(0) + " Hz");
    drawStep(f);
    drawTimer(f);
    drawAngles(f);
    drawReps(f);
    drawPain(f);
    text("safety", f.safety);
    show("guidance", !!f.guidance);
    text("guidance", f.guidance || "");
    document.body.classList.toggle("ended", !f.recording);
    // cues: each once; none from before the page opened
    const seqs = f.cues.map((c) => c.seq);
    if (lastCue === null) lastCue = seqs.length ? Math.max(...seqs) : 0;
    for (const c of f.cues) if (c.seq > lastCue) { play(c); lastCue = c.seq; }
  }

  function banner(msg, kind) {
    const b = $("banner");
    b.textContent = msg || "";
    b.dataset.kind = kind || "";
    b.hidden = !msg;
  }
  function connect() {
    const es = new EventSource(withToken("events"));
    es.onopen = () => banner("");
    es.onmessage = (ev) => {
      const f = JSON.parse(ev.data);
      draw(f);
      debug.frames += 1;
      debug.audio = audio ? audio.state : "none";
    if (debug.shown.length < 20000) {
        // when each frame was on the page, and what it showed (tests, benchmark)
        debug.shown.push([performance.timeOrigin + performance.now(), f.t_s, f.sent_ms, f.frame]);
        debug.dom.push([$("step-title").textContent, $("timer").dataset.kind, $("timer-value").textContent,
          (document.querySelector(".gauge.primary .g-value") || {}).textContent || null]);
      }
    };
    es.addEventListener("end", () => {
      es.close();
      debug.ended = true;
      banner("The recording has ended: this page no longer updates. You can close it.", "ended");
      document.body.classList.add("ended");
      show("end", false);
      show("skip", false);
    });
    es.onerror = () => { if (!debug.ended) banner("Connection lost — trying again…", "lost"); };
  }
  ctx();
  showUnlock();
  connect();
})();
