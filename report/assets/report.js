// connscope report: draws the waterfalls and time-sequence graphs from the
// JSON in #connscope-data. Every string from the capture is set with
// textContent, never parsed as markup. Errors are reported into the DOM
// (data-js-error on <html>) so a headless browser test can read them.
(function () {
  'use strict';
  var root = document.documentElement;
  function fail(msg) { root.setAttribute('data-js-error', String(msg)); }
  window.addEventListener('error', function (e) { fail(e.message || 'script error'); });

  var SVGNS = 'http://www.w3.org/2000/svg';
  // TCP flag bits (capture.TCPFlags) and segment kinds (reassembly.SegmentKind).
  var FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;
  var K_RETR = 1, K_FAST = 2, K_SPUR = 4, K_OOO = 8, K_PREV = 16, K_DUP = 32, K_ZW = 64,
      K_ZWP = 128, K_WFULL = 256, K_KA = 512, K_CAPDUP = 1024, K_WUPD = 2048, K_IGNRST = 4096;
  var KIND_NAMES = [[K_RETR, 'retransmission'], [K_FAST, 'fast retransmission'], [K_SPUR, 'spurious retransmission'],
    [K_OOO, 'out of order'], [K_PREV, 'previous segment not captured'], [K_DUP, 'duplicate ACK'], [K_ZW, 'zero window'],
    [K_ZWP, 'zero-window probe'], [K_WFULL, 'window full'], [K_KA, 'keep-alive'], [K_CAPDUP, 'capture duplicate'],
    [K_WUPD, 'window update'], [K_IGNRST, 'ignored RST (its sender went on: it did not end the connection)']];
  var COLORS = { dataC: '#2a5bd7', dataS: '#36b37e', ack: '#a3aab8', ctl: '#3d4451', retr: '#e5484d', loss: '#f29d38',
    win: '#8e4ec6', rst: '#b4232a', connect: '#f29d38', send: '#36b37e', wait: '#5aa9e6', receive: '#2a5bd7',
    error: '#d92d20', warning: '#dc8a00', info: '#2e90fa' };

  // Geometry of a waterfall, in SVG user units (the SVG scales to the page).
  var W = 1200, LEFT = 270, RIGHT = 70, PW = W - LEFT - RIGHT;
  var AXIS_H = 20, FIND_H = 14, LANE_H = 15, ROW_H = 19;

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k])); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(e, text) { var t = document.createElementNS(SVGNS, 'title'); t.textContent = text; e.appendChild(t); return e; }
  function label(parent, x, y, s, cls, anchor) {
    var t = el('text', { x: x, y: y, 'class': cls || '', 'text-anchor': anchor || 'start' }, parent);
    t.textContent = s;
    return t;
  }
  function short(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }
  function fmtMs(x) {
    var a = Math.abs(x);
    if (a >= 10000) return (x / 1000).toFixed(1) + ' s';
    if (a >= 1000) return (x / 1000).toFixed(2) + ' s';
    if (a >= 100) return x.toFixed(0) + ' ms';
    if (a >= 10) return x.toFixed(1) + ' ms';
    return x.toFixed(2) + ' ms';
  }
  function bytesText(v, step) {
    var digits = function (unit) { return step >= unit ? 0 : step >= unit / 10 ? 1 : 2; };
    if (v >= 1e6) return (v / 1e6).toFixed(digits(1e6)) + ' MB';
    if (v >= 1e3) return (v / 1e3).toFixed(digits(1e3)) + ' kB';
    return String(Math.round(v));
  }
  function niceStep(range, target) {
    var raw = range / target, p = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10)), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
  }
  function scale(range) {
    var a = range[0], b = range[1];
    if (!(b > a)) { a -= 0.5; b += 0.5; }
    return { a: a, b: b, x: function (t) { return LEFT + (t - a) / (b - a) * PW; } };
  }
  function segClass(s) {
    var flags = s[6], kind = s[7];
    if (flags & RST) return 'rst';
    if (kind & (K_RETR | K_FAST | K_SPUR)) return 'retr';
    if (kind & (K_PREV | K_OOO)) return 'loss';
    if (kind & (K_ZW | K_ZWP | K_WFULL)) return 'win';
    if (flags & (SYN | FIN)) return 'ctl';
    if (s[3] === 0) return 'ack';
    return s[1] === 0 ? 'dataC' : 'dataS';
  }
  function flagText(f) {
    var out = '';
    if (f & SYN) out += 'S'; if (f & FIN) out += 'F'; if (f & RST) out += 'R'; if (f & PSH) out += 'P'; if (f & ACK) out += '.';
    return out || 'none';
  }
  function kindText(k) {
    var out = [];
    for (var i = 0; i < KIND_NAMES.length; i++) if (k & KIND_NAMES[i][0]) out.push(KIND_NAMES[i][1]);
    return out.join(', ');
  }
  function segTip(s, origin) {
    var t = 'frame ' + s[8] + ' at +' + (s[0] - origin).toFixed(3) + ' ms  ' + (s[1] === 0 ? 'client → server' : 'server → client') +
      '\nflags ' + flagText(s[6]) + '  seq ' + s[2] + '  len ' + s[3] + '  ack ' + s[4] + '  win ' + s[5];
    var k = kindText(s[7]);
    return k ? t + '\n' + k : t;
  }
  function axis(svg, sc, y0, height, origin) {
    var step = niceStep(sc.b - sc.a, 8);
    for (var t = Math.ceil((sc.a - origin) / step) * step + origin; t <= sc.b + 1e-9; t += step) {
      var x = sc.x(t);
      el('line', { x1: x, x2: x, y1: y0, y2: y0 + height, 'class': 'grid' }, svg);
      label(svg, x, y0 - 6, fmtMs(t - origin), 'axis', 'middle');
    }
  }

  // One floating tooltip for the segment lanes (SVG <title> on every tick
  // would cost an element per segment).
  var tipBox = null;
  function showTip(text, ev) {
    if (!tipBox) {
      tipBox = document.createElement('div');
      tipBox.className = 'tip';
      document.body.appendChild(tipBox);
    }
    tipBox.textContent = text;
    tipBox.style.left = (ev.clientX + 14) + 'px';
    tipBox.style.top = (ev.clientY + 14) + 'px';
    tipBox.style.display = 'block';
  }
  function hideTip() { if (tipBox) tipBox.style.display = 'none'; }

  // activityRange is the span of a connection worth looking at: from its
  // first frame to the last transaction byte or data segment, leaving out
  // an idle tail (a keep-alive connection that sat open for seconds before
  // its FIN would otherwise squeeze every bar into a corner).
  function activityRange(conn) {
    var end = conn.start;
    for (var i = 0; i < conn.txns.length; i++) {
      var tx = conn.txns[i], spans = [tx.connect, tx.send, tx.wait, tx.receive];
      for (var j = 0; j < spans.length; j++) if (spans[j]) end = Math.max(end, spans[j][1]);
    }
    for (i = 0; i < conn.segs.length; i++) if (conn.segs[i][3] > 0) end = Math.max(end, conn.segs[i][0]);
    if (!(end > conn.start)) return [conn.start, conn.end];
    // A short tail is worth seeing whole (the close); only a long idle
    // one is cut off.
    if (conn.end - end <= (end - conn.start) * 0.5) return [conn.start, conn.end];
    end += (end - conn.start) * 0.04;
    return [conn.start, Math.min(end, conn.end)];
  }

  // drawWaterfall draws one connection; it returns the number of
  // transaction bars drawn.
  function drawWaterfall(conn, box, range) {
    var sc = scale(range), origin = range[0];
    var txns = conn.txns, rows = txns.length;
    var lanesY = AXIS_H + FIND_H, rowsY = lanesY + 2 * LANE_H + 6;
    var H = rowsY + Math.max(rows, 1) * ROW_H + 6;
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'waterfall of connection ' + conn.id });
    var defs = el('defs', {}, svg);
    var pat = el('pattern', { id: 'hatch-' + conn.id, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, defs);
    el('rect', { width: 6, height: 6, fill: '#ffffff' }, pat);
    el('rect', { width: 3, height: 6, fill: '#d9dce3' }, pat);

    axis(svg, sc, AXIS_H, H - AXIS_H, origin);
    // Connection lifetime behind the lanes.
    var cx0 = sc.x(conn.start), cx1 = Math.max(sc.x(conn.end), cx0 + 1);
    el('rect', { x: cx0, y: lanesY, width: cx1 - cx0, height: 2 * LANE_H, 'class': 'rowbg' }, svg);
    label(svg, LEFT - 8, lanesY + LANE_H - 4, 'client → server', 'axis', 'end');
    label(svg, LEFT - 8, lanesY + 2 * LANE_H - 4, 'server → client', 'axis', 'end');
    el('line', { x1: LEFT, x2: LEFT + PW, y1: lanesY + LANE_H, y2: lanesY + LANE_H, stroke: '#e3e6ec' }, svg);

    // Segments are drawn as one path per class (thousands of ticks stay a
    // handful of elements); hovering a lane shows the nearest segment.
    var paths = {}, outside = 0, inRange = [];
    for (var i = 0; i < conn.segs.length; i++) {
      var s = conn.segs[i], cls = segClass(s), x = sc.x(s[0]);
      if (s[0] < sc.a - 1e-6 || s[0] > sc.b + 1e-6) { outside++; continue; }
      var top = lanesY + s[1] * LANE_H, h = (cls === 'ack') ? LANE_H * 0.45 : LANE_H - 2;
      var y = top + (LANE_H - h) - 1;
      paths[cls] = (paths[cls] || '') + 'M' + x.toFixed(2) + ' ' + y.toFixed(2) + 'v' + h.toFixed(2);
      inRange.push(s);
    }
    // Draw the common classes first so that the telling ones lie on top.
    var order = ['ack', 'dataC', 'dataS', 'ctl', 'win', 'loss', 'retr', 'rst'];
    for (var o = 0; o < order.length; o++) {
      if (paths[order[o]]) el('path', { d: paths[order[o]], stroke: COLORS[order[o]], 'stroke-width': order[o] === 'rst' ? 2.5 : 1.5, fill: 'none' }, svg);
    }
    if (inRange.length > 0) {
      var hover = el('rect', { x: LEFT, y: lanesY, width: PW, height: 2 * LANE_H, fill: 'transparent', 'class': 'lanes' }, svg);
      hover.addEventListener('mousemove', function (ev) {
        var box = svg.getBoundingClientRect(), ux = (ev.clientX - box.left) * W / box.width;
        var uy = (ev.clientY - box.top) * W / box.width, dir = uy < lanesY + LANE_H ? 0 : 1;
        var best = null, bestD = 1e9;
        for (var k = 0; k < inRange.length; k++) {
          if (inRange[k][1] !== dir) continue;
          var d = Math.abs(sc.x(inRange[k][0]) - ux);
          if (d < bestD) { bestD = d; best = inRange[k]; }
        }
        if (best && bestD < 12) showTip(segTip(best, conn.start), ev); else hideTip();
      });
      hover.addEventListener('mouseleave', hideTip);
    }
    if (conn.segs.length === 0) label(svg, LEFT + 4, lanesY + LANE_H + 4, 'no segment records', 'axis');

    for (var r = 0; r < rows; r++) {
      var tx = txns[r], ry = rowsY + r * ROW_H, by = ry + 4, bh = ROW_H - 8;
      if (r % 2 === 1) el('rect', { x: 0, y: ry, width: W, height: ROW_H, fill: '#fafbfc' }, svg);
      var lbl = label(svg, 6, ry + ROW_H - 6, short('T' + tx.id + ' ' + tx.label, 38), 'lbl');
      tip(lbl, tx.detail);
      var g = tip(el('g', { 'class': 'bar' }, svg), tx.detail);
      var last = null;
      var phases = [['connect', tx.connect], ['send', tx.send], ['wait', tx.wait], ['receive', tx.receive]];
      for (var p = 0; p < phases.length; p++) {
        var span = phases[p][1];
        if (!span) continue;
        var x0 = sc.x(span[0]), x1 = sc.x(span[1]);
        el('rect', { x: x0, y: by, width: Math.max(x1 - x0, 1.5), height: bh, fill: COLORS[phases[p][0]], rx: 1 }, g);
        last = Math.max(last === null ? x0 : last, x0 + Math.max(x1 - x0, 1.5));
      }
      if (tx.noresp) {
        var from = tx.send ? tx.send[1] : conn.start;
        var nx0 = sc.x(from), nx1 = Math.max(sc.x(Math.min(conn.end, sc.b)), nx0 + 2);
        el('rect', { x: nx0, y: by, width: nx1 - nx0, height: bh, fill: 'url(#hatch-' + conn.id + ')', stroke: '#b0b6c3', 'stroke-width': 0.6 }, g);
        last = Math.max(last === null ? nx0 : last, nx1);
      }
      if (tx.incomplete && tx.receive) {
        var ix0 = sc.x(tx.receive[0]), ix1 = sc.x(tx.receive[1]);
        el('rect', { x: ix0 - 1, y: by - 1.5, width: Math.max(ix1 - ix0, 1.5) + 2, height: bh + 3, fill: 'none', stroke: COLORS.error, 'stroke-width': 1.2 }, g);
      }
      var status = tx.noresp ? 'no response' : String(tx.status);
      if (tx.incomplete) status += ' ✕ ' + tx.incomplete;
      var end = tx.receive ? tx.receive[1] : tx.send ? tx.send[1] : conn.end;
      var start = tx.connect ? tx.connect[0] : tx.send ? tx.send[0] : end;
      status += '  ' + fmtMs(end - start);
      // The label goes right of the bar, else left of it, else inside.
      var barStart = sc.x(start), need = status.length * 6.2 + 8;
      if (last === null) last = barStart;
      var sl;
      if (last + need <= LEFT + PW + RIGHT) sl = label(svg, last + 4, ry + ROW_H - 6, status, 'axis', 'start');
      else if (barStart - need >= LEFT) sl = label(svg, barStart - 4, ry + ROW_H - 6, status, 'axis', 'end');
      else { sl = label(svg, LEFT + PW - 4, ry + ROW_H - 6, status, 'axis', 'end'); sl.setAttribute('fill', '#ffffff'); }
      if (tx.incomplete || tx.noresp) sl.setAttribute('fill', COLORS.error);
    }
    if (rows === 0) label(svg, 6, rowsY + ROW_H - 6, 'no HTTP transactions', 'axis');

    // Findings: a marker at each evidence frame (or at the finding's
    // time), and the rule's name beside the first marker where it fits.
    var labelEnd = -1e9;
    for (var f = 0; f < conn.finds.length; f++) {
      var fd = conn.finds[f], times = fd.times.length ? fd.times : [fd.t], color = COLORS[fd.sev] || COLORS.info;
      var text = fd.rule + ' [' + fd.sev + '] ' + fd.msg + '\nframes ' + fd.frames.join(', ');
      var firstX = null;
      for (var j = 0; j < times.length; j++) {
        if (times[j] < sc.a - 1e-6 || times[j] > sc.b + 1e-6) continue;
        var mx = sc.x(times[j]);
        if (firstX === null) firstX = mx;
        el('line', { x1: mx, x2: mx, y1: AXIS_H + FIND_H, y2: H - 4, stroke: color, 'stroke-width': 0.8, 'stroke-dasharray': '3 3', opacity: 0.7 }, svg);
        tip(el('path', { d: 'M' + (mx - 5) + ' ' + (AXIS_H + 2) + ' h10 l-5 9 z', fill: color }, svg), text);
      }
      if (firstX !== null && firstX + 6 > labelEnd) {
        var tag = label(svg, firstX + 6, AXIS_H + 10, fd.rule, 'axis');
        tag.setAttribute('fill', color);
        tip(tag, text);
        labelEnd = firstX + 6 + fd.rule.length * 7 + 8;
      }
    }
    box.textContent = '';
    box.appendChild(svg);
    if (conn.cut > 0 || conn.dropped > 0 || outside > 0) {
      var note = document.createElement('p');
      note.className = 'note';
      note.textContent = (outside > 0 ? outside + ' segments after the activity (the connection stayed open ' +
          fmtMs(conn.end - sc.b) + ' longer) are outside this axis; choose "whole connection" to see them. ' : '') +
        (conn.cut > 0 ? conn.cut + ' segments are not drawn (the page caps how many it embeds). ' : '') +
        (conn.dropped > 0 ? conn.dropped + ' earlier segments were released by the analysis.' : '');
      box.appendChild(note);
    }
    return rows;
  }

  // drawOverview draws every drawn connection as one row on the whole
  // capture's time axis: its lifetime, its transactions' phases and its
  // findings, so parallel and serial connections show at a glance. A row
  // links to the connection's own waterfall. It returns the rows drawn.
  function drawOverview(data, box) {
    var conns = data.conns, OV_ROW = 14, H = AXIS_H + 6 + Math.max(conns.length, 1) * OV_ROW + 4;
    var sc = scale(data.span), origin = data.span[0];
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'all connections on one time axis' });
    axis(svg, sc, AXIS_H, H - AXIS_H, origin);
    for (var i = 0; i < conns.length; i++) {
      var c = conns[i], y = AXIS_H + 6 + i * OV_ROW;
      var row = el('g', { 'class': 'ovrow' }, svg);
      if (i % 2 === 1) el('rect', { x: 0, y: y, width: W, height: OV_ROW, fill: '#fafbfc' }, row);
      label(row, 6, y + OV_ROW - 3, short('#' + c.id + ' ' + c.client + ' → ' + c.server, 40), 'lbl');
      var x0 = sc.x(c.start), x1 = Math.max(sc.x(c.end), x0 + 1);
      el('rect', { x: x0, y: y + OV_ROW / 2 - 1, width: x1 - x0, height: 2, fill: '#b0b6c3' }, row);
      for (var k = 0; k < c.txns.length; k++) {
        var tx = c.txns[k], phases = [['connect', tx.connect], ['send', tx.send], ['wait', tx.wait], ['receive', tx.receive]];
        for (var p = 0; p < phases.length; p++) {
          var span = phases[p][1];
          if (!span) continue;
          var a = sc.x(span[0]), b = sc.x(span[1]);
          el('rect', { x: a, y: y + 3, width: Math.max(b - a, 1.2), height: OV_ROW - 6, fill: COLORS[phases[p][0]] }, row);
        }
        if (tx.noresp && tx.send) {
          var na = sc.x(tx.send[1]);
          el('rect', { x: na, y: y + 3, width: Math.max(sc.x(c.end) - na, 1.2), height: OV_ROW - 6, fill: '#f3c4c4' }, row);
        }
      }
      for (var f = 0; f < c.finds.length; f++) {
        var fx = sc.x(c.finds[f].times.length ? c.finds[f].times[0] : c.finds[f].t);
        el('path', { d: 'M' + (fx - 3.5) + ' ' + (y + 1) + ' h7 l-3.5 5 z', fill: COLORS[c.finds[f].sev] || COLORS.info }, row);
      }
      tip(row, '#' + c.id + ' ' + c.client + ' → ' + c.server + '\n' + c.txns.length + ' transactions, ' +
        c.finds.length + ' findings\nclick to open its waterfall');
      (function (id) { row.addEventListener('click', function () { location.hash = 'conn-' + id; }); })(c.id);
    }
    box.textContent = '';
    box.appendChild(svg);
    return conns.length;
  }

  // drawTimeSequence draws a Stevens graph: relative sequence number
  // against time for the direction that carried more data, with the other
  // side's ACK line and its advertised window.
  function drawTimeSequence(conn, box) {
    var bytes = [0, 0];
    for (var i = 0; i < conn.segs.length; i++) bytes[conn.segs[i][1]] += conn.segs[i][3];
    var dir = bytes[1] >= bytes[0] ? 1 : 0;
    var GH = 260, top = 24, bottom = 24, ph = GH - top - bottom;
    var sc = scale(activityRange(conn));
    var maxSeq = 1;
    for (i = 0; i < conn.segs.length; i++) {
      var s = conn.segs[i];
      if (s[1] === dir) maxSeq = Math.max(maxSeq, s[2] + s[3]);
      else if (s[6] & ACK) maxSeq = Math.max(maxSeq, s[4]);
    }
    var maxY = maxSeq * 1.05;
    function y(v) { return top + ph - Math.min(v, maxY) / maxY * ph; }
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + GH, role: 'img', 'aria-label': 'time-sequence graph of connection ' + conn.id });
    axis(svg, sc, top, ph, conn.start);
    var ystep = niceStep(maxY, 5);
    for (var v = 0; v <= maxY; v += ystep) {
      el('line', { x1: LEFT, x2: LEFT + PW, y1: y(v), y2: y(v), 'class': 'grid' }, svg);
      label(svg, LEFT - 6, y(v) + 4, bytesText(v, ystep), 'axis', 'end');
    }
    label(svg, 6, top + 12, (dir === 1 ? 'server → client' : 'client → server') + ' data', 'lbl');
    label(svg, 6, top + 28, 'relative sequence number', 'axis');
    var legend = [['data', COLORS[dir === 1 ? 'dataS' : 'dataC']], ['ACK', '#3d4451'], ['window', '#8e4ec6'], ['retransmission', COLORS.retr], ['not captured', COLORS.loss]];
    for (i = 0; i < legend.length; i++) {
      el('rect', { x: 8, y: top + 42 + i * 15, width: 10, height: 3, fill: legend[i][1] }, svg);
      label(svg, 24, top + 47 + i * 15, legend[i][0], 'axis');
    }
    var ackPath = '', winPath = '', lastAck = null, lastWin = null;
    var dataG = el('g', {}, svg);
    for (i = 0; i < conn.segs.length; i++) {
      s = conn.segs[i];
      if (s[0] > sc.b + 1e-6) break;
      var x = sc.x(s[0]);
      if (s[1] === dir) {
        if (s[3] > 0 || (s[6] & (SYN | FIN))) {
          var cls = segClass(s), y0 = y(s[2]), y1 = y(s[2] + Math.max(s[3], 1));
          var color = cls === 'ack' || cls === 'ctl' ? COLORS.ctl : COLORS[cls];
          tip(el('line', { x1: x, x2: x, y1: y0, y2: Math.min(y1, y0 - 1.5), stroke: color, 'stroke-width': 1.6 }, dataG), segTip(s, conn.start));
          el('line', { x1: x - 2, x2: x + 2, y1: y1, y2: y1, stroke: color, 'stroke-width': 1 }, dataG);
        }
      } else if (s[6] & ACK) {
        var ya = y(s[4]), yw = y(s[4] + s[5]);
        ackPath += lastAck === null ? 'M' + x + ' ' + ya : ' H' + x + ' V' + ya;
        winPath += lastWin === null ? 'M' + x + ' ' + yw : ' H' + x + ' V' + yw;
        lastAck = ya; lastWin = yw;
      }
    }
    if (ackPath) {
      ackPath += ' H' + sc.x(sc.b);
      winPath += ' H' + sc.x(sc.b);
      el('path', { d: winPath, fill: 'none', stroke: '#8e4ec6', 'stroke-width': 1, 'stroke-dasharray': '4 3', opacity: 0.6 }, svg);
      el('path', { d: ackPath, fill: 'none', stroke: '#3d4451', 'stroke-width': 1.1 }, svg);
    }
    box.textContent = '';
    box.appendChild(svg);
  }

  function main() {
    var t0 = Date.now();
    var data = JSON.parse(document.getElementById('connscope-data').textContent);
    var byId = {};
    for (var i = 0; i < data.conns.length; i++) byId[data.conns[i].id] = data.conns[i];
    var wf = document.getElementById('waterfall');
    var select = document.getElementById('axis-mode');
    function drawAll() {
      var bars = 0, segs = 0, boxes = wf.querySelectorAll('.wf');
      for (var i = 0; i < boxes.length; i++) {
        var conn = byId[boxes[i].getAttribute('data-conn')];
        if (!conn) continue;
        var range = select.value === 'capture' ? data.span : select.value === 'conn' ? [conn.start, conn.end] : activityRange(conn);
        bars += drawWaterfall(conn, boxes[i], range);
        segs += conn.segs.length;
      }
      wf.setAttribute('data-segments', String(segs));
      wf.setAttribute('data-rendered', bars + ' bars');
    }
    select.addEventListener('change', drawAll);
    drawAll();
    var overview = document.getElementById('overview');
    if (overview && data.conns.length > 1) {
      overview.setAttribute('data-rendered', drawOverview(data, overview) + ' rows');
    } else if (overview) {
      overview.parentNode.style.display = 'none';
    }
    // Time-sequence graphs are drawn when opened; the one of the
    // connection that carried the most data is opened at once.
    var graphs = 0, plots = wf.querySelectorAll('details.tsg'), busiest = null, most = -1;
    for (i = 0; i < plots.length; i++) {
      (function (det) {
        var box = det.querySelector('.tsg-plot'), conn = byId[box.getAttribute('data-conn')];
        if (!conn || conn.segs.length === 0) { det.style.display = 'none'; return; }
        var drawn = false, bytes = 0;
        function draw() {
          if (drawn || !det.open) return;
          drawn = true;
          drawTimeSequence(conn, box);
          graphs++;
          wf.setAttribute('data-graphs', String(graphs));
        }
        det.addEventListener('toggle', draw);
        for (var j = 0; j < conn.segs.length; j++) bytes += conn.segs[j][3];
        if (bytes > most) { most = bytes; busiest = { det: det, draw: draw }; }
      })(plots[i]);
    }
    if (busiest) { busiest.det.open = true; busiest.draw(); }
    wf.setAttribute('data-draw-ms', String(Date.now() - t0));
    wf.setAttribute('data-graphs', String(graphs));
  }

  try {
    main();
  } catch (e) {
    fail(e && e.stack ? e.stack : e);
    throw e;
  }
})();
