/*
 * pylit site script: the reading features of a page. Plain JavaScript, no framework, no
 * third-party request; every page reads fine without it.
 *
 * - theme toggle (light/dark, remembered in localStorage 'pylit-theme')
 * - identifiers in the code column: click (or Enter) highlights every occurrence on the page
 * - symbols in the equations: one colour per symbol; hover previews it, click pins it in every
 *   formula of the page
 * - images in the notes open enlarged
 * - search over the Pagefind index of the site, loaded only when the search box is used
 *
 * Keyboard: Tab reaches each code block and each section's formulas; the arrow keys move between
 * identifiers (or symbols), Enter or Space toggles the highlight, Escape clears every highlight.
 * "/" focuses the search box.
 */
(function () {
  'use strict';
  var doc = document;
  var root = doc.documentElement;
  var main = doc.querySelector('main.page');
  var status = doc.querySelector('.sr-status');
  var words = (main && main.dataset) || {};

  function say(text) {
    if (status) status.textContent = text;
  }

  // ## Theme

  function initTheme() {
    var button = doc.querySelector('.theme-toggle');
    var media = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

    function effective() {
      return root.getAttribute('data-theme') || (media && media.matches ? 'dark' : 'light');
    }

    function sync() {
      if (!button) return;
      var label = effective() === 'dark' ? button.dataset.toLight : button.dataset.toDark;
      button.setAttribute('aria-label', label);
      button.title = label;
    }

    if (button) {
      button.hidden = false;
      button.addEventListener('click', function () {
        var next = effective() === 'dark' ? 'light' : 'dark';
        root.setAttribute('data-theme', next);
        try { localStorage.setItem('pylit-theme', next); } catch (e) { /* private mode */ }
        sync();
      });
    }
    if (media && media.addEventListener) media.addEventListener('change', sync);
    window.addEventListener('storage', function (e) {
      if (e.key !== 'pylit-theme') return;
      if (e.newValue) root.setAttribute('data-theme', e.newValue);
      else root.removeAttribute('data-theme');
      sync();
    });
    sync();
  }

  // ## Identifiers in code

  // Pygments' classes of names (a token's first class): plain, builtin, self, function, class,
  // namespace, exception, magic function/variable, variable, attribute, decorator, property
  var IDENT = { n: 1, nb: 1, bp: 1, nf: 1, nc: 1, nn: 1, ne: 1, fm: 1, vm: 1, nv: 1, na: 1, nd: 1, py: 1 };
  var IDENT_SCOPE = '.code pre, .docs code.highlight';
  var identText = null;
  var identCursor = null;

  function isIdent(el) {
    return !!el && el.nodeName === 'SPAN' && IDENT[el.classList[0]] === 1 && !!el.closest(IDENT_SCOPE);
  }

  function identsIn(container) {
    var out = [];
    var spans = container.getElementsByTagName('span');
    for (var i = 0; i < spans.length; i++) {
      if (IDENT[spans[i].classList[0]] === 1) out.push(spans[i]);
    }
    return out;
  }

  function allIdents() {
    var out = [];
    if (!main) return out;
    main.querySelectorAll(IDENT_SCOPE).forEach(function (c) { out = out.concat(identsIn(c)); });
    return out;
  }

  function clearIdents() {
    if (!main) return;
    main.querySelectorAll('.ident-hl').forEach(function (el) { el.classList.remove('ident-hl'); });
    identText = null;
  }

  function toggleIdent(el) {
    var text = el.textContent;
    if (identText === text) {
      clearIdents();
      say(words.cleared || '');
      return;
    }
    clearIdents();
    identText = text;
    var n = 0;
    allIdents().forEach(function (s) {
      if (s.textContent === text) { s.classList.add('ident-hl'); n++; }
    });
    say((words.highlighted || '') + ' ' + text + ': ' + n + ' ' + (words.occurrences || ''));
  }

  function setIdentCursor(el) {
    if (identCursor) identCursor.classList.remove('ident-cursor');
    identCursor = el;
    if (el) {
      el.classList.add('ident-cursor');
      el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    }
  }

  function lineOf(el) {
    return el.closest('.line');
  }

  function moveIdentCursor(pre, key) {
    var list = identsIn(pre);
    if (!list.length) return false;
    var i = identCursor && pre.contains(identCursor) ? list.indexOf(identCursor) : -1;
    var next;
    if (i < 0) {
      next = key === 'ArrowLeft' || key === 'ArrowUp' || key === 'End' ? list[list.length - 1] : list[0];
    } else if (key === 'ArrowRight') {
      next = list[Math.min(i + 1, list.length - 1)];
    } else if (key === 'ArrowLeft') {
      next = list[Math.max(i - 1, 0)];
    } else if (key === 'Home') {
      next = list[0];
    } else if (key === 'End') {
      next = list[list.length - 1];
    } else {
      // Up and Down: the first identifier of the previous or next line that has one
      var line = lineOf(list[i]);
      var step = key === 'ArrowDown' ? 1 : -1;
      next = list[i];
      for (var j = i; j >= 0 && j < list.length; j += step) {
        if (lineOf(list[j]) !== line) {
          var target = lineOf(list[j]);
          next = list[j];
          if (step < 0) {
            while (j - 1 >= 0 && lineOf(list[j - 1]) === target) j--;
            next = list[j];
          }
          break;
        }
      }
    }
    setIdentCursor(next);
    return true;
  }

  // ## Symbols in equations

  var LETTER = /\p{L}/u;
  var SYM_COLOURS = 8;
  var symIndex = null;    // key -> [elements]
  var symKey = null;      // element -> key
  var symLabel = null;    // key -> readable name
  var pinned = new Set();
  var hovered = null;
  var symCursor = null;

  function cleanText(el) {
    return el.textContent.replace(/[\u200b\s]/g, '');
  }

  // The subscript of a `.msupsub`: the script whose baseline lies below the base's
  // (KaTeX positions each script with `top` inside a strut of known height)
  function subscriptOf(supsub) {
    var vlist = supsub.querySelector('.vlist');
    if (!vlist) return '';
    var parts = vlist.children;
    for (var i = 0; i < parts.length; i++) {
      var strut = parts[i].querySelector('.pstrut');
      if (!strut) continue;
      var shift = parseFloat(parts[i].style.top || '0') + parseFloat(strut.style.height || '0');
      if (shift > 0) return cleanText(parts[i]);
    }
    return '';
  }

  // A time or position index with an offset (t-1, t+1, i+k) names the same symbol as the bare index
  function normaliseSubscript(sub) {
    var m = /^([a-z\u03b1-\u03c9])[+\-\u2212][0-9a-z]+$/.exec(sub);
    return m ? m[1] : sub;
  }

  function fontOf(leaf) {
    var fonts = [];
    leaf.classList.forEach(function (c) {
      if (c !== 'mord' && c !== 'mtight' && c !== 'mathnormal' && c !== 'sym') fonts.push(c);
    });
    return fonts.join('.');
  }

  function buildSymbols() {
    if (symIndex) return;
    symIndex = new Map();
    symKey = new WeakMap();
    symLabel = new Map();
    if (!main) return;
    main.querySelectorAll('.katex-html').forEach(function (html) {
      html.querySelectorAll('.mord').forEach(function (leaf) {
        if (leaf.firstElementChild) return;
        var text = cleanText(leaf);
        if (!text || !LETTER.test(text)) return;
        if (leaf.closest('.text') || leaf.closest('.accent-body')) return;
        // A letter in the scripts of a symbol belongs to that symbol
        var scripts = leaf.closest('.msupsub');
        if (scripts && html.contains(scripts)) {
          var owner = scripts.previousElementSibling;
          if (owner && (owner.classList.contains('mord'))) return;
        }
        var base = leaf;
        var accent = '';
        var acc = leaf.parentElement && leaf.closest('.accent');
        if (acc && html.contains(acc)) {
          var body = acc.querySelector('.accent-body');
          accent = body ? cleanText(body) : '';
          base = acc;
        }
        var el = base;
        var sub = '';
        var next = base.nextElementSibling;
        if (next && next.classList.contains('msupsub') && base.parentElement !== html) {
          el = base.parentElement;
          sub = subscriptOf(next);
        }
        if (symKey.has(el)) return;
        var font = fontOf(leaf);
        var key = (font ? font + ':' : '') + accent + text + (sub ? '_' + normaliseSubscript(sub) : '');
        var list = symIndex.get(key);
        if (!list) {
          list = [];
          list.colour = 'var(--sym-' + (symIndex.size % SYM_COLOURS) + ')';
          symIndex.set(key, list);
          symLabel.set(key, accent + text + (sub ? '_' + normaliseSubscript(sub) : ''));
        }
        list.push(el);
        symKey.set(el, key);
        el.classList.add('sym');
        el.style.setProperty('--c', list.colour);
      });
    });
  }

  function symOf(target) {
    if (!target || !target.closest) return null;
    var el = target.closest('.sym');
    return el && main.contains(el) ? el : null;
  }

  function setHover(el) {
    var key = el ? symKey.get(el) : null;
    if (key === hovered) return;
    if (hovered) symIndex.get(hovered).forEach(function (s) { s.classList.remove('sym-hover'); });
    hovered = key;
    if (key) symIndex.get(key).forEach(function (s) { s.classList.add('sym-hover'); });
  }

  function togglePin(el) {
    var key = symKey.get(el);
    if (!key) return;
    var list = symIndex.get(key);
    if (pinned.has(key)) {
      pinned.delete(key);
      list.forEach(function (s) { s.classList.remove('sym-on'); });
      say(words.cleared || '');
    } else {
      pinned.add(key);
      list.forEach(function (s) { s.classList.add('sym-on'); });
      say((words.highlighted || '') + ' ' + symLabel.get(key) + ': ' + list.length + ' ' + (words.occurrences || ''));
    }
  }

  function clearPins() {
    if (!symIndex) return;
    pinned.forEach(function (key) {
      symIndex.get(key).forEach(function (s) { s.classList.remove('sym-on'); });
    });
    pinned.clear();
  }

  function setSymCursor(el) {
    if (symCursor) symCursor.classList.remove('sym-cursor');
    symCursor = el;
    if (!el) return;
    el.classList.add('sym-cursor');
    var formula = el.closest('.katex');
    if (formula && doc.activeElement !== formula) {
      rove(formula);
      formula.focus({ preventScroll: true });
    }
    el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  // Each section's formulas are one stop for Tab: the formula last visited holds tabindex 0
  function rove(formula) {
    var docs = formula.closest('.docs');
    if (!docs) return;
    docs.querySelectorAll('.katex[tabindex="0"]').forEach(function (k) { k.setAttribute('tabindex', '-1'); });
    formula.setAttribute('tabindex', '0');
  }

  function moveSymCursor(formula, key) {
    buildSymbols();
    var docs = formula.closest('.docs');
    var list = docs ? Array.prototype.slice.call(docs.querySelectorAll('.sym')) : [];
    if (!list.length) return false;
    var i = symCursor ? list.indexOf(symCursor) : -1;
    var next;
    if (i < 0 || !formula.contains(symCursor)) {
      var own = list.filter(function (s) { return formula.contains(s); });
      if (!own.length) own = list;
      next = key === 'ArrowLeft' || key === 'ArrowUp' || key === 'End' ? own[own.length - 1] : own[0];
    } else if (key === 'ArrowRight' || key === 'ArrowDown') {
      next = list[Math.min(i + 1, list.length - 1)];
    } else if (key === 'ArrowLeft' || key === 'ArrowUp') {
      next = list[Math.max(i - 1, 0)];
    } else if (key === 'Home') {
      next = list[0];
    } else {
      next = list[list.length - 1];
    }
    setSymCursor(next);
    return true;
  }

  function initFormulas() {
    if (!main) return;
    main.querySelectorAll('.docs').forEach(function (docs) {
      var formulas = docs.querySelectorAll('.katex');
      for (var i = 0; i < formulas.length; i++) formulas[i].setAttribute('tabindex', i === 0 ? '0' : '-1');
    });
    var idle = window.requestIdleCallback || function (f) { return setTimeout(f, 300); };
    idle(function () { buildSymbols(); });
  }

  // ## Display formulas wider than the notes

  // A formula that scrolls sideways fades out at the edge that hides more of it (site.css)
  function initWideFormulas() {
    if (!main) return;
    var displays = Array.prototype.slice.call(main.querySelectorAll('.katex-display'));
    if (!displays.length) return;
    function mark(d) {
      var more = [];
      // (a few pixels of KaTeX's struts past the edge hide nothing)
      if (d.scrollLeft > 3) more.push('left');
      if (d.scrollLeft + d.clientWidth < d.scrollWidth - 3) more.push('right');
      var value = more.join(' ');
      if (value) { if (d.getAttribute('data-more') !== value) d.setAttribute('data-more', value); }
      else if (d.hasAttribute('data-more')) d.removeAttribute('data-more');
    }
    function markAll() { displays.forEach(mark); }
    displays.forEach(function (d) {
      d.addEventListener('scroll', function () { mark(d); }, { passive: true });
    });
    var pending = false;
    window.addEventListener('resize', function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; markAll(); });
    });
    markAll();
    // A formula widens or narrows after the first layout (KaTeX's fonts load as formulas need
    // them, some after `fonts.ready`; the sidebar or a font of the notes changes the column):
    // watch the sizes themselves rather than the events that may change them
    if (window.ResizeObserver) {
      var watcher = new ResizeObserver(function (entries) {
        entries.forEach(function (e) { mark(e.target.closest('.katex-display')); });
      });
      displays.forEach(function (d) {
        watcher.observe(d);
        if (d.firstElementChild) watcher.observe(d.firstElementChild);
      });
    } else if (doc.fonts && doc.fonts.ready) {
      doc.fonts.ready.then(markAll);
    }
  }

  // ## Clearing everything

  function clearAll() {
    clearIdents();
    setIdentCursor(null);
    clearPins();
    if (symIndex) setHover(null);
    setSymCursor(null);
  }

  // ## Events of the page body

  function selecting() {
    var sel = window.getSelection && window.getSelection();
    return !!sel && !sel.isCollapsed && sel.toString().length > 0;
  }

  function initInteractions() {
    if (!main) return;
    main.addEventListener('click', function (e) {
      if (selecting()) return;
      var t = e.target;
      if (isIdent(t)) {
        toggleIdent(t);
        return;
      }
      if (t.closest && t.closest('.katex-html')) {
        buildSymbols();
        var sym = symOf(t);
        if (sym) togglePin(sym);
      }
    });
    main.addEventListener('mouseover', function (e) {
      var t = e.target;
      if (!t.closest || !t.closest('.katex-html')) {
        if (hovered) setHover(null);
        return;
      }
      buildSymbols();
      setHover(symOf(t));
    });
    main.addEventListener('mouseleave', function () { if (hovered) setHover(null); });
    main.addEventListener('keydown', function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      var t = e.target;
      var key = e.key;
      var nav = key === 'ArrowRight' || key === 'ArrowLeft' || key === 'ArrowUp' || key === 'ArrowDown' ||
        key === 'Home' || key === 'End';
      var act = key === 'Enter' || key === ' ';
      if (t.nodeName === 'PRE' && t.closest('.code')) {
        if (nav && moveIdentCursor(t, key)) e.preventDefault();
        else if (act && identCursor && t.contains(identCursor)) { toggleIdent(identCursor); e.preventDefault(); }
      } else if (t.classList && t.classList.contains('katex')) {
        if (nav && moveSymCursor(t, key)) e.preventDefault();
        else if (act) {
          if (!symCursor || !t.contains(symCursor)) moveSymCursor(t, 'Home');
          if (symCursor) togglePin(symCursor);
          e.preventDefault();
        }
      } else if (act && t.classList && t.classList.contains('zoomable')) {
        e.preventDefault();
        openImage(t);
      }
    });
    main.addEventListener('focusin', function (e) {
      if (e.target.classList && e.target.classList.contains('katex')) {
        buildSymbols();
        rove(e.target);
      }
    });
    main.addEventListener('focusout', function (e) {
      var to = e.relatedTarget;
      if (identCursor && !(to && to.contains && to.contains(identCursor))) setIdentCursor(null);
      if (symCursor && !(to && to.closest && to.closest('.katex'))) setSymCursor(null);
    });
    doc.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && !e.defaultPrevented) clearAll();
    });
  }

  // ## Images in the notes open enlarged

  var lightbox = null;

  function openImage(img) {
    if (!lightbox) {
      lightbox = doc.createElement('dialog');
      lightbox.className = 'lightbox';
      var close = doc.createElement('button');
      close.type = 'button';
      close.className = 'close';
      close.textContent = '\u00d7';
      close.setAttribute('aria-label', words.close || 'Close');
      lightbox.appendChild(close);
      lightbox.appendChild(doc.createElement('img'));
      lightbox.addEventListener('click', function () { lightbox.close(); });
      doc.body.appendChild(lightbox);
    }
    var big = lightbox.querySelector('img');
    big.src = img.currentSrc || img.src;
    big.alt = img.alt || '';
    lightbox.setAttribute('aria-label', img.alt || words.enlarge || '');
    if (lightbox.showModal) lightbox.showModal();
    else lightbox.setAttribute('open', '');
  }

  function initImages() {
    if (!main) return;
    main.querySelectorAll('.docs img').forEach(function (img) {
      if (img.closest('a')) return;
      img.classList.add('zoomable');
      img.setAttribute('tabindex', '0');
      img.setAttribute('role', 'button');
      if (words.enlarge && !img.title) img.title = words.enlarge;
    });
    main.addEventListener('click', function (e) {
      if (e.target.classList && e.target.classList.contains('zoomable')) openImage(e.target);
    });
  }

  // ## Search (Pagefind)

  function initSearch() {
    var box = doc.querySelector('.search');
    if (!box || !window.fetch) return;
    var input = box.querySelector('.search-input');
    var panel = box.querySelector('.search-results');
    var siteRoot = new URL(box.dataset.siteRoot || './', location.href);
    var loading = null;
    var seq = 0;
    var timer = null;
    box.hidden = false;

    function load() {
      if (!loading) {
        loading = import(new URL('pagefind/pagefind.js', siteRoot).href).then(function (pf) {
          return Promise.resolve(pf.options({ baseUrl: siteRoot.pathname, excerptLength: 24 })).then(function () {
            return pf.init ? pf.init() : null;
          }).then(function () { return pf; });
        });
        loading.catch(function () { loading = null; });
      }
      return loading;
    }

    function show(open) {
      panel.hidden = !open;
      input.setAttribute('aria-expanded', open ? 'true' : 'false');
    }

    function note(text) {
      panel.textContent = '';
      var p = doc.createElement('div');
      p.className = 'note';
      p.textContent = text;
      panel.appendChild(p);
      show(true);
    }

    // Pagefind's excerpts mark the matches with <mark>; the rest is text
    function excerptNode(excerpt, content) {
      var span = doc.createElement('div');
      span.className = 'excerpt';
      var parts = trimExcerpt(String(excerpt || ''), content).split(/<\/?mark>/);
      parts.forEach(function (part, i) {
        var text = doc.createTextNode(decode(part));
        if (i % 2 === 1) {
          var m = doc.createElement('mark');
          m.appendChild(text);
          span.appendChild(m);
        } else {
          span.appendChild(text);
        }
      });
      return span;
    }

    // Letters and digits of scripts that separate words with spaces (not CJK, which does not)
    var WORDY = /[A-Za-z0-9\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF_\-.,;:!?)\]}'"\u2019\u201D]/;

    // An excerpt starts at a word: Pagefind cuts it a fixed number of words around the match,
    // and its words are not the text's (it splits `Sophia-G` into `Sophia` and `-G`), so an
    // excerpt can start inside a word. Such a fragment is dropped and the excerpt starts with an
    // ellipsis. The page's indexed text (`content`) tells whether the excerpt's first character
    // follows a space.
    function trimExcerpt(excerpt, content) {
      var plain = decode(excerpt.replace(/<\/?mark>/g, ''));
      if (!plain) return excerpt;
      var cut = false;
      var at = content ? content.indexOf(plain.slice(0, 40)) : -1;
      if (at > 0) {
        var before = content.charAt(at - 1);
        cut = !/\s/.test(before) && WORDY.test(before) && WORDY.test(plain.charAt(0));
      } else if (at < 0) {
        cut = /^[\-.,;:!?)\]}'"\u2019\u201D]/.test(plain);
      }
      var out = excerpt;
      if (cut) {
        var space = excerpt.search(/\s/);
        var mark = excerpt.indexOf('<mark>');
        if (space > 0 && (mark < 0 || space < mark)) out = excerpt.slice(space + 1);
        else cut = false;
      }
      return (cut || at > 0 ? '\u2026 ' : '') + out.replace(/^\s+/, '');
    }

    var decoder = doc.createElement('textarea');
    function decode(s) {
      if (s.indexOf('&') < 0) return s;
      decoder.innerHTML = s;
      return decoder.value;
    }

    // Results link to the section (`section-N`) that holds the match
    function sectionOf(data, loc) {
      var best = null;
      (data.anchors || []).forEach(function (a) {
        if (/^section-\d+$/.test(a.id) && a.location <= loc && (!best || a.location >= best.location)) best = a;
      });
      return best ? data.url.replace(/#.*$/, '') + '#' + best.id : null;
    }

    function bestLocation(locs) {
      var best = null;
      (locs || []).forEach(function (w) { if (!best || w.balanced_score > best.balanced_score) best = w; });
      return best ? best.location : null;
    }

    function sectionUrl(data) {
      var loc = bestLocation(data.weighted_locations);
      if (loc === null && data.locations && data.locations.length) loc = data.locations[0];
      return (loc !== null && sectionOf(data, loc)) || data.url;
    }

    function render(results) {
      panel.textContent = '';
      if (!results.length) { note(box.dataset.noResults || 'No results'); return; }
      var ol = doc.createElement('ol');
      results.forEach(function (data) {
        var li = doc.createElement('li');
        li.className = 'result';
        var a = doc.createElement('a');
        a.className = 'result-title';
        a.href = sectionUrl(data);
        a.textContent = (data.meta && data.meta.title) || data.url;
        li.appendChild(a);
        var subs = (data.sub_results || []).filter(function (s) { return s.url.indexOf('#') >= 0; }).slice(0, 3);
        if (subs.length) {
          subs.forEach(function (s) {
            var d = doc.createElement('div');
            d.className = 'sub';
            var sa = doc.createElement('a');
            var loc = bestLocation(s.weighted_locations);
            if (loc === null && s.locations && s.locations.length) loc = s.locations[0];
            sa.href = (loc !== null && sectionOf(data, loc)) || s.url;
            sa.textContent = s.title;
            d.appendChild(sa);
            d.appendChild(excerptNode(s.excerpt, data.content));
            li.appendChild(d);
          });
        } else {
          li.appendChild(excerptNode(data.excerpt, data.content));
        }
        ol.appendChild(li);
      });
      panel.appendChild(ol);
      show(true);
    }

    function run() {
      var query = input.value.trim();
      var mine = ++seq;
      if (!query) { show(false); panel.textContent = ''; return; }
      if (panel.hidden || !panel.firstChild) note(box.dataset.loading || '…');
      load().then(function (pf) {
        return pf.search(query);
      }).then(function (found) {
        if (mine !== seq) return null;
        var top = (found && found.results ? found.results : []).slice(0, 8);
        return Promise.all(top.map(function (r) { return r.data(); }));
      }).then(function (datas) {
        if (datas && mine === seq) render(datas);
      }).catch(function (err) {
        if (mine !== seq) return;
        note(box.dataset.error || 'Search is not available');
        if (window.console) console.warn('pylit search:', err && err.message ? err.message : err);
      });
    }

    input.addEventListener('focus', function () { load().catch(function () {}); }, { once: true });
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(run, 120);
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') {
        e.preventDefault();
        if (!panel.hidden) show(false);
        else input.value = '';
      } else if (e.key === 'ArrowDown') {
        var first = panel.querySelector('a');
        if (first && !panel.hidden) { e.preventDefault(); first.focus(); }
      } else if (e.key === 'Enter') {
        var top = panel.querySelector('a');
        if (top && !panel.hidden) { e.preventDefault(); location.href = top.href; }
      }
    });
    panel.addEventListener('keydown', function (e) {
      var links = Array.prototype.slice.call(panel.querySelectorAll('a'));
      var i = links.indexOf(doc.activeElement);
      if (e.key === 'ArrowDown' && i >= 0) { e.preventDefault(); (links[i + 1] || links[i]).focus(); }
      else if (e.key === 'ArrowUp' && i >= 0) { e.preventDefault(); (i === 0 ? input : links[i - 1]).focus(); }
      else if (e.key === 'Escape') { e.preventDefault(); show(false); input.focus(); }
    });
    input.addEventListener('focus', function () { if (input.value.trim() && panel.firstChild) show(true); });
    doc.addEventListener('click', function (e) {
      if (!box.contains(e.target)) show(false);
    });
    panel.addEventListener('click', function (e) {
      // A result on this very page: close the panel after following the anchor
      if (e.target.closest && e.target.closest('a')) show(false);
    });
    doc.addEventListener('keydown', function (e) {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.nodeName))) return;
      e.preventDefault();
      input.focus();
    });
  }

  function init() {
    initTheme();
    initSearch();
    initImages();
    initFormulas();
    initWideFormulas();
    initInteractions();
  }

  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', init);
  else init();
})();

/*
 * Language switcher: keep the reader on the same section. The pages of every language have
 * the same sections (`#section-N`), so a link to another language gets the anchor of the
 * section being read: the one in the address, else the first one on screen. (translate helper)
 */
(function () {
  'use strict';
  // Whether the reader scrolled since the address got its anchor
  var moved = false;
  ['wheel', 'touchmove', 'keydown'].forEach(function (type) {
    document.addEventListener(type, function () { moved = true; }, { passive: true, capture: true });
  });
  window.addEventListener('hashchange', function () { moved = false; });

  function current() {
    var hash = window.location.hash;
    var el = hash.length > 1 ? document.getElementById(decodeURIComponent(hash.slice(1))) : null;
    if (el) {
      var r = el.getBoundingClientRect();
      if (!moved || (r.bottom > 0 && r.top < window.innerHeight)) return hash;
    }
    var sections = document.querySelectorAll('main .section[id]');
    for (var i = 0; i < sections.length; i++) {
      if (sections[i].getBoundingClientRect().bottom > 48) return '#' + sections[i].id;
    }
    return hash || '';
  }
  function update(e) {
    var a = e.target && e.target.closest ? e.target.closest('nav.languages a.lang') : null;
    if (!a) return;
    var section = current();
    var base = a.getAttribute('href').split('#')[0];
    // The top of the page needs no anchor
    a.setAttribute('href', section === '#section-0' ? base : base + section);
  }
  ['pointerdown', 'focusin', 'click'].forEach(function (type) {
    document.addEventListener(type, update, true);
  });
})();
