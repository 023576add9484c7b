/* aigraph query page: enhances the plain GET form of query.html.
 *
 * Runs the editor's query with POST on the endpoint (SPARQL 1.1 protocol), shows SELECT
 * results as a table, ASK as a yes/no answer, CONSTRUCT/DESCRIBE as Turtle, errors in
 * #error, and offers download links per format. Ctrl+Enter (or Cmd+Enter) runs the query;
 * the examples load a named query into the editor and run it. No external resources.
 */
(function () {
  'use strict';

  var ACCEPT = 'application/sparql-results+json, text/turtle;q=0.9';
  var XSD = 'http://www.w3.org/2001/XMLSchema#';
  var RDF_LANG_STRING = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#langString';

  var configElement = document.getElementById('aigraph-config');
  var form = document.getElementById('query-form');
  var editor = document.getElementById('query');
  if (!configElement || !form || !editor) {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var S = config.strings || {};

  // Result IRIs link like the server's pages (aigraph.pages.resource View.href; the rule's
  // parts come in config.links from aigraph.pages.labels.page_links): an IRI under the base
  // at a path this server answers (/id/, /graph/, /ontology, /shapes) opens there; any other
  // IRI the data describes opens at /resource?iri=<IRI> (asked of the endpoint once per table,
  // see linkDescribed); other http(s) IRIs are links as they are; any other scheme
  // (javascript:, data:, file:, ...) is never a link. A local path never starts with '//' or
  // '/\', which would lead to another host.
  var links = config.links || {};
  var SERVED = links.served ? new RegExp('^(?:' + links.served + ')') : /^\/(?![\/\\])/;
  // An IRI that may go in VALUES (the server's ABSOLUTE_IRI), and how many one table checks.
  var IRI_REF = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|^`\\\x00-\x20]*$/;
  var MAX_CHECKED = 200;

  function localPath(iri) {
    var base = config.base || '';
    if (base && iri.indexOf(base + '/') === 0 && SERVED.test(iri.slice(base.length))) {
      return iri.slice(base.length);
    }
    if (links.shapes && iri.indexOf(links.shapes) === 0) {
      return '/shapes#' + iri.slice(links.shapes.length);
    }
    return null;
  }

  // The link target of a result IRI before the endpoint says which IRIs the data describes.
  function iriHref(iri) {
    var path = localPath(iri);
    if (path !== null) {
      return path;
    }
    return /^https?:\/\/[^\/\\]/i.test(iri) ? iri : null;
  }
  var output = document.getElementById('output');
  var statusLine = document.getElementById('status');
  var truncatedNotice = document.getElementById('truncated');
  var errorBox = document.getElementById('error');
  var downloads = document.getElementById('downloads');
  var results = document.getElementById('results');
  var queriesByName = {};
  (config.queries || []).forEach(function (q) { queriesByName[q.name] = q; });
  var inFlight = null;

  document.documentElement.classList.add('js');

  /* ---------------------------------------------------------------- helpers */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        if (attrs[key] !== undefined && attrs[key] !== null) {
          node.setAttribute(key, attrs[key]);
        }
      });
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function text(key, fallback) {
    return Object.prototype.hasOwnProperty.call(S, key) ? S[key] : fallback;
  }

  /* Remove comments (a '#' at the start of a line or after white space) so that PREFIX
   * lines and keywords inside comments are not taken for real ones. */
  function stripComments(query) {
    return query.replace(/(^|\s)#[^\n\r]*/g, '$1');
  }

  /* The PREFIX declarations of a query: {prefix: namespace}. */
  function declaredPrefixes(query) {
    var found = {};
    var re = /(?:^|\s)PREFIX\s+([^\s:]*):\s*<([^>\s]*)>/gi;
    var match;
    var clean = stripComments(query);
    while ((match = re.exec(clean)) !== null) {
      found[match[1]] = match[2];
    }
    return found;
  }

  /* 'select', 'ask', 'construct', 'describe' or '' (a guess from the text). */
  function queryForm(query) {
    var clean = stripComments(query)
      .replace(/(?:^|\s)(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s*<[^>]*>)/gi, ' ');
    var match = /\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i.exec(clean);
    return match ? match[1].toLowerCase() : '';
  }

  var LOCAL_NAME = /^(?:[A-Za-z0-9_\u00B7\u00C0-\uFFFF-](?:[A-Za-z0-9_.\u00B7\u00C0-\uFFFF-]*[A-Za-z0-9_\u00B7\u00C0-\uFFFF-])?)?$/;

  /* Shorten an IRI with the longest matching namespace declared in the editor. */
  function shorten(iri, prefixes) {
    var best = null;
    Object.keys(prefixes).forEach(function (prefix) {
      var ns = prefixes[prefix];
      if (ns && iri.lastIndexOf(ns, 0) === 0 && LOCAL_NAME.test(iri.slice(ns.length))) {
        if (best === null || ns.length > prefixes[best].length) {
          best = prefix;
        }
      }
    });
    return best === null ? null : best + ':' + iri.slice(prefixes[best].length);
  }

  /* The query text with the page's PREFIX lines added for the prefixes it does not declare. */
  function withPagePrefixes(query) {
    var own = declaredPrefixes(query);
    var lines = (config.prefixes || '').split(/\r?\n/).filter(function (line) {
      var match = /^\s*PREFIX\s+([^\s:]*):/i.exec(line);
      return match && !Object.prototype.hasOwnProperty.call(own, match[1]);
    });
    var body = query.replace(/^\s+|\s+$/g, '');
    return (lines.length ? lines.join('\n') + '\n\n' : '') + body + '\n';
  }

  /* ---------------------------------------------------------------- rendering */

  function renderTerm(term, prefixes) {
    if (!term) {
      return el('span', { 'class': 'unbound', title: text('unbound', 'unbound') }, []);
    }
    if (term.type === 'uri') {
      var short = shorten(term.value, prefixes);
      var href = iriHref(term.value);
      var check = localPath(term.value) === null && IRI_REF.test(term.value);
      return el(href === null ? 'span' : 'a', { href: href, 'class': 'iri', title: term.value,
        'data-iri': check ? term.value : null }, [short === null ? term.value : short]);
    }
    if (term.type === 'bnode') {
      return el('span', { 'class': 'bnode' }, ['_:' + term.value]);
    }
    if (term.type === 'literal' || term.type === 'typed-literal') {
      var parts = [el('span', { 'class': 'literal-value' }, [term.value])];
      var lang = term['xml:lang'];
      if (lang) {
        parts.push(el('span', { 'class': 'lang-tag', title: 'xml:lang' }, ['@' + lang]));
      } else if (term.datatype && term.datatype !== XSD + 'string' &&
                 term.datatype !== RDF_LANG_STRING) {
        var dt = shorten(term.datatype, prefixes);
        if (dt === null && term.datatype.lastIndexOf(XSD, 0) === 0) {
          dt = 'xsd:' + term.datatype.slice(XSD.length);
        }
        parts.push(el('span', { 'class': 'datatype', title: term.datatype },
          ['^^' + (dt === null ? '<' + term.datatype + '>' : dt)]));
      }
      var literal = el('span', { 'class': 'literal' }, parts);
      if (lang) {
        parts[0].setAttribute('lang', lang);
      }
      return literal;
    }
    if (term.type === 'triple' && term.value) {
      return el('span', { 'class': 'quoted-triple' }, [
        '<< ', renderTerm(term.value.subject, prefixes), ' ',
        renderTerm(term.value.predicate, prefixes), ' ',
        renderTerm(term.value.object, prefixes), ' >>'
      ]);
    }
    return el('span', {}, [String(term.value)]);
  }

  function renderTable(data, prefixes) {
    var vars = (data.head && data.head.vars) || [];
    var bindings = (data.results && data.results.bindings) || [];
    var table = el('table', { 'class': 'result-table' }, [
      el('caption', { 'class': 'visually-hidden' }, [text('results', 'Results')])
    ]);
    var headRow = el('tr', {}, vars.map(function (name) {
      return el('th', { scope: 'col' }, ['?' + name]);
    }));
    table.appendChild(el('thead', {}, [headRow]));
    var body = document.createElement('tbody');
    var fragment = document.createDocumentFragment();
    bindings.forEach(function (row) {
      var tr = document.createElement('tr');
      vars.forEach(function (name) {
        var td = document.createElement('td');
        td.appendChild(renderTerm(row[name], prefixes));
        tr.appendChild(td);
      });
      fragment.appendChild(tr);
    });
    body.appendChild(fragment);
    table.appendChild(body);
    var scroller = el('div', { 'class': 'table-scroll', tabindex: '0', role: 'region',
      'aria-label': text('results', 'Results') }, [table]);
    results.appendChild(scroller);
    linkDescribed(table);
    if (!bindings.length) {
      results.appendChild(el('p', { 'class': 'empty' }, [text('no_results', 'No results.')]));
    }
    return bindings.length;
  }

  /* Point the IRIs of a result table that the data describes at their /resource pages: one
   * query on the endpoint (links.described) for up to MAX_CHECKED distinct IRIs. A failure
   * leaves the links as they are. */
  function linkDescribed(container) {
    if (!links.described || !links.resourcePage) {
      return;
    }
    var nodes = Array.prototype.slice.call(container.querySelectorAll('[data-iri]'));
    var wanted = [];
    var seen = {};
    nodes.forEach(function (node) {
      var iri = node.getAttribute('data-iri');
      if (!seen[iri] && wanted.length < MAX_CHECKED) {
        seen[iri] = true;
        wanted.push('<' + iri + '>');
      }
    });
    if (!wanted.length) {
      return;
    }
    fetch(config.endpoint, {
      method: 'POST',
      headers: {
        'Accept': 'application/sparql-results+json',
        'Content-Type': 'application/x-www-form-urlencoded'
      },
      body: 'query=' + encodeURIComponent(links.described.replace('{iris}', function () {
        return wanted.join(' ');  // a function: '$&' in an IRI is not a replacement pattern
      })),
      credentials: 'same-origin'
    }).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (data) {
      var described = {};
      ((data && data.results && data.results.bindings) || []).forEach(function (row) {
        if (row.iri && row.iri.type === 'uri') {
          described[row.iri.value] = true;
        }
      });
      nodes.forEach(function (node) {
        var iri = node.getAttribute('data-iri');
        if (!described[iri]) {
          return;
        }
        var href = links.resourcePage + encodeURIComponent(iri);
        if (node.tagName === 'A') {
          node.setAttribute('href', href);
        } else {
          node.parentNode.replaceChild(el('a', { href: href, 'class': 'iri', title: iri,
            'data-iri': iri }, [node.textContent]), node);
        }
      });
      container.setAttribute('data-links', 'checked');
    }).catch(function () {});
  }

  function renderBoolean(value) {
    results.appendChild(el('p', { 'class': 'boolean boolean-' + (value ? 'true' : 'false') },
      [value ? text('answer_true', 'true') : text('answer_false', 'false')]));
  }

  function renderGraph(body) {
    results.appendChild(el('pre', { 'class': 'graph', tabindex: '0' }, [el('code', {}, [body])]));
  }

  function renderDownloads(query, kind) {
    var formats = kind === 'graph' ? config.graphFormats : config.resultFormats;
    downloads.textContent = '';
    downloads.appendChild(el('span', { 'class': 'downloads-label' },
      [text('download', 'Download') + ':']));
    var list = el('ul', {}, []);
    (formats || []).forEach(function (format) {
      var href = config.endpoint + '?query=' + encodeURIComponent(query) +
        '&format=' + encodeURIComponent(format.name);
      var name = (kind === 'graph' ? 'graph.' : 'results.') +
        (format.extension || format.name);  // results.json, graph.ttl
      list.appendChild(el('li', {}, [
        el('a', { href: href, download: name, 'data-format': format.name }, [format.label])
      ]));
    });
    downloads.appendChild(list);
    downloads.hidden = false;
  }

  function selectLine(line, column) {
    var lines = editor.value.split('\n');
    if (line < 1 || line > lines.length) {
      return;
    }
    var start = 0;
    for (var i = 0; i < line - 1; i += 1) {
      start += lines[i].length + 1;
    }
    var end = start + lines[line - 1].length;
    editor.focus();
    if (column && column > 0 && column <= lines[line - 1].length + 1) {
      editor.setSelectionRange(start + column - 1, end);
    } else {
      editor.setSelectionRange(start, end);
    }
    /* Scroll the line into view: estimate from the line height. */
    var lineHeight = parseFloat(window.getComputedStyle(editor).lineHeight) || 18;
    editor.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  function showError(status, kind, message, details, requestId) {
    errorBox.textContent = '';
    errorBox.appendChild(el('p', { 'class': 'error-title' }, [
      el('strong', {}, [text('error_title', 'The query failed')]),
      status ? el('span', { 'class': 'error-code' },
        [' ' + status + (kind ? ' · ' + kind : '')]) : ''
    ]));
    errorBox.appendChild(el('pre', { 'class': 'error-message' }, [message]));
    var line = details && Number(details.line);
    if (line > 0) {
      var column = Number(details.column) || 0;
      var jump = el('button', { type: 'button', 'class': 'button button-small' },
        [text('show_line', 'Show line {n}').replace('{n}', String(line))]);
      jump.addEventListener('click', function () { selectLine(line, column); });
      errorBox.appendChild(jump);
    }
    if (requestId) {
      errorBox.appendChild(el('p', { 'class': 'error-request' },
        [text('request_id', 'Request id') + ': ', el('code', {}, [String(requestId)])]));
    }
    errorBox.hidden = false;
  }

  function resetOutput() {
    output.hidden = false;
    errorBox.hidden = true;
    errorBox.textContent = '';
    truncatedNotice.hidden = true;
    truncatedNotice.textContent = '';
    downloads.hidden = true;
    results.textContent = '';
  }

  function showTruncated(limit) {
    truncatedNotice.textContent = text('truncated', 'Result truncated at {n} rows')
      .replace('{n}', String(limit));
    truncatedNotice.hidden = false;
  }

  function setStatus(parts) {
    statusLine.textContent = parts.filter(Boolean).join(' · ');
  }

  /* ---------------------------------------------------------------- running */

  /* Scroll the results' heading to the top of the window unless enough of them is in view
   * already (their top in the upper part of the window). */
  function revealOutput() {
    var top = output.getBoundingClientRect().top;
    if ((top < 0 || top > window.innerHeight * 0.6) && output.scrollIntoView) {
      output.scrollIntoView({ block: 'start' });
    }
  }

  /* Run the editor's query; `reveal` scrolls the results into view once they are shown. */
  function run(reveal) {
    var query = editor.value;
    if (!query.replace(/\s+/g, '')) {
      editor.focus();
      return;
    }
    if (inFlight) {
      inFlight.abort();
    }
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    inFlight = controller;
    resetOutput();
    results.setAttribute('aria-busy', 'true');
    form.classList.add('running');
    setStatus([text('running', 'Running…')]);
    // Result IRIs are shortened with the query's prefixes, else the data's own (orgn:, ...).
    var prefixes = Object.assign({}, config.namePrefixes || {}, declaredPrefixes(query));
    var started = performance.now();
    var response;

    fetch(config.endpoint, {
      method: 'POST',
      headers: {
        'Accept': ACCEPT,
        'Content-Type': 'application/x-www-form-urlencoded'
      },
      body: 'query=' + encodeURIComponent(query),
      credentials: 'same-origin',
      signal: controller ? controller.signal : undefined
    }).then(function (res) {
      response = res;
      return res.text();
    }).then(function (body) {
      if (inFlight !== controller) {
        return;
      }
      var elapsed = Math.round(performance.now() - started);
      var type = (response.headers.get('Content-Type') || '').toLowerCase();
      var isJson = type.indexOf('json') !== -1;
      var data = null;
      if (isJson) {
        try { data = JSON.parse(body); } catch (e) { data = null; }
      }
      if (!response.ok) {
        var message = data && data.message ? data.message
          : (body && type.indexOf('html') === -1 ? body : response.statusText);
        showError(response.status, data && data.error, message || String(response.status),
          data && data.details, data && data.request_id);
        setStatus([elapsed + ' ' + text('ms', 'ms')]);
        return;
      }
      var headerTruncated = /^(1|true|yes)$/i.test(response.headers.get('X-Aigraph-Truncated') || '');
      var headerLimit = response.headers.get('X-Aigraph-Row-Limit');
      if (data && typeof data.boolean === 'boolean') {
        renderBoolean(data.boolean);
        setStatus(['ASK', elapsed + ' ' + text('ms', 'ms')]);
        renderDownloads(query, 'results');
      } else if (data && data.head) {
        var count = renderTable(data, prefixes);
        setStatus([count + ' ' + (count === 1 ? text('row', 'row') : text('rows', 'rows')),
          elapsed + ' ' + text('ms', 'ms')]);
        if (data.truncated || headerTruncated) {
          showTruncated(data.limit || headerLimit || count);
        }
        renderDownloads(query, 'results');
      } else {
        renderGraph(body);
        var verb = queryForm(query);
        setStatus([text('triples', 'Graph') + (verb ? ' (' + verb.toUpperCase() + ')' : ''),
          elapsed + ' ' + text('ms', 'ms')]);
        if (headerTruncated) {
          showTruncated(headerLimit || '?');
        }
        renderDownloads(query, 'graph');
      }
    }).catch(function (err) {
      if (inFlight !== controller || (err && err.name === 'AbortError')) {
        return;
      }
      showError(0, '', text('network_error', 'The endpoint could not be reached.') +
        (err && err.message ? ' (' + err.message + ')' : ''));
      setStatus([]);
    }).then(function () {
      if (inFlight === controller) {
        inFlight = null;
        results.removeAttribute('aria-busy');
        form.classList.remove('running');
        if (reveal === true) {
          revealOutput();
        }
      }
    });
  }

  function loadExample(name, andRun) {
    var q = queriesByName[name];
    if (!q) {
      return false;
    }
    editor.value = withPagePrefixes(q.text || '');
    editor.scrollTop = 0;
    if (andRun) {
      run(true);
    }
    return true;
  }

  /* ---------------------------------------------------------------- wiring */

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    run(true);
  });

  editor.addEventListener('input', function () {
    document.querySelectorAll('[data-query-name][aria-current]').forEach(function (link) {
      link.removeAttribute('aria-current');
    });
  });

  editor.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run(true);
    }
  });

  document.querySelectorAll('[data-query-name]').forEach(function (link) {
    link.setAttribute('aria-controls', 'query output');
    link.addEventListener('click', function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1) {
        return; /* let the browser open the named query itself */
      }
      var name = link.getAttribute('data-query-name');
      if (loadExample(name, true)) {
        event.preventDefault();
        document.querySelectorAll('[data-query-name][aria-current]').forEach(function (other) {
          other.removeAttribute('aria-current');
        });
        link.setAttribute('aria-current', 'true');
        if (window.history && history.replaceState) {
          history.replaceState(null, '', '#example=' + encodeURIComponent(name));
        }
      }
    });
  });

  /* On load: '#example=<name>' loads and runs a named query; `autorun` runs the editor's query. */
  var fromHash = /^#example=(.+)$/.exec(window.location.hash);
  var ranOnLoad = false;
  if (fromHash) {
    var name = decodeURIComponent(fromHash[1]);
    var link = document.querySelector('[data-query-name="' + name.replace(/["\\]/g, '') + '"]');
    ranOnLoad = loadExample(name, true);
    if (ranOnLoad && link) {
      link.setAttribute('aria-current', 'true');
    }
  }
  if (!ranOnLoad && config.autorun) {
    run(true);
  }
}());
