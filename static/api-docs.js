// The API reference page (/api-docs): renders /openapi.json as tags → operations, each with its
// parameters and schemas and a "Try it" form that calls the API with the pasted bearer token.
// Hand-written and self-contained: the page's CSP allows only nexus's own script and stylesheet.
(function () {
  'use strict';

  var METHODS = ['get', 'post', 'put', 'patch', 'delete'];
  var doc = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') {
        node.textContent = attrs[name];
      } else if (name === 'class') {
        node.className = attrs[name];
      } else {
        node.setAttribute(name, attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function slug(text) {
    return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  }

  function refName(ref) {
    return ref.replace('#/components/schemas/', '');
  }

  function resolve(schema) {
    if (schema && schema.$ref) {
      return doc.components.schemas[refName(schema.$ref)] || {};
    }
    return schema || {};
  }

  // A short type label: `string`, `RoleRepresentation[]`, `integer | null`, …
  function typeLabel(schema) {
    if (!schema) { return 'any'; }
    if (schema.$ref) { return refName(schema.$ref); }
    if (schema.oneOf || schema.anyOf) {
      return (schema.oneOf || schema.anyOf).map(typeLabel).join(' | ');
    }
    var type = schema.type;
    if (Array.isArray(type)) {
      return type.map(function (t) {
        return t === 'array' ? typeLabel(schema.items) + '[]' : t;
      }).join(' | ');
    }
    if (type === 'array') { return typeLabel(schema.items) + '[]'; }
    if (type === 'object' && schema.additionalProperties && !schema.properties) {
      return 'map of ' + typeLabel(schema.additionalProperties === true ? null : schema.additionalProperties);
    }
    return type || 'any';
  }

  // The fields of a schema (following one reference and array items), as a list.
  function schemaView(schema, depth) {
    var wrap = el('div', { class: 'schema' });
    var label = typeLabel(schema);
    wrap.appendChild(el('code', { text: label }));
    var target = schema && schema.type === 'array' ? schema.items : schema;
    var resolved = resolve(target);
    var props = resolved.properties;
    if (props && depth < 2) {
      var required = resolved.required || [];
      var list = el('ul', { class: 'fields' });
      Object.keys(props).forEach(function (name) {
        var prop = props[name];
        var item = el('li', {}, [
          el('code', { text: name }), ' ',
          el('span', { class: 'meta', text: typeLabel(prop) + (required.indexOf(name) >= 0 ? ' (required)' : '') })
        ]);
        if (prop.description) {
          item.appendChild(el('span', { class: 'hint', text: ' — ' + prop.description }));
        }
        list.appendChild(item);
      });
      wrap.appendChild(list);
    }
    if (resolved.description && depth === 0) {
      wrap.appendChild(el('p', { class: 'hint', text: resolved.description }));
    }
    return wrap;
  }

  function jsonSchemaOf(content) {
    if (!content) { return null; }
    var type = Object.keys(content)[0];
    return type ? { type: type, schema: content[type].schema } : null;
  }

  function token() {
    return document.getElementById('token').value.trim();
  }

  // Sends the operation's request from its form and shows the answer.
  function tryIt(path, method, op, form, out) {
    var url = path;
    var query = [];
    var missing = [];
    (op.parameters || []).forEach(function (p) {
      var input = form.querySelector('[data-param="' + p.in + ':' + p.name + '"]');
      var value = input ? input.value : '';
      if (p.in === 'path') {
        if (!value) { missing.push(p.name); }
        url = url.replace('{' + p.name + '}', encodeURIComponent(value));
      } else if (p.in === 'query' && value !== '') {
        query.push(encodeURIComponent(p.name) + '=' + encodeURIComponent(value));
      }
    });
    out.textContent = '';
    if (missing.length) {
      out.appendChild(el('p', { class: 'field-error', text: 'Fill in: ' + missing.join(', ') }));
      return;
    }
    if (query.length) { url += '?' + query.join('&'); }
    var headers = { Accept: 'application/json' };
    if (token()) { headers.Authorization = 'Bearer ' + token(); }
    var init = { method: method.toUpperCase(), headers: headers, credentials: 'omit' };
    var body = form.querySelector('textarea[data-body]');
    if (body && body.value.trim()) {
      headers['Content-Type'] = 'application/json';
      init.body = body.value;
    }
    out.appendChild(el('p', { class: 'hint', text: init.method + ' ' + url + ' …' }));
    fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var shown = text;
        var parsed = null;
        try { parsed = JSON.parse(text); shown = JSON.stringify(parsed, null, 2); } catch (e) { /* not JSON */ }
        out.textContent = '';
        out.appendChild(el('p', {}, [
          'Status ', el('strong', { class: 'result-status', text: String(response.status) }),
          ' ' + response.statusText
        ]));
        var location = response.headers.get('Location');
        if (location) {
          out.appendChild(el('p', { class: 'meta', text: 'Location: ' + location }));
        }
        out.appendChild(el('pre', { class: 'result-body', text: shown || '(empty body)' }));
        // Key for token (and any token answer): one click to call the API with what it returned.
        if (parsed && typeof parsed.access_token === 'string') {
          var use = el('button', { type: 'button', class: 'secondary use-token', text: 'Use this access token' });
          use.addEventListener('click', function () {
            document.getElementById('token').value = parsed.access_token;
            use.textContent = 'Token set';
          });
          out.appendChild(use);
        }
      });
    }).catch(function (e) {
      out.textContent = '';
      out.appendChild(el('p', { class: 'field-error', text: 'Request failed: ' + e }));
    });
  }

  function operationView(path, method, op) {
    var id = 'op-' + (op.operationId || slug(method + path));
    var details = el('details', { class: 'op', id: id, 'data-path': path, 'data-method': method });
    details.appendChild(el('summary', {}, [
      el('span', { class: 'method method-' + method, text: method.toUpperCase() }), ' ',
      el('code', { class: 'path', text: path }), ' ',
      el('span', { class: 'op-summary', text: op.summary || '' })
    ]));
    if (op.description) { details.appendChild(el('p', { text: op.description })); }
    if (!op.security || op.security.length === 0) {
      details.appendChild(el('p', { class: 'hint', text: 'No bearer token needed.' }));
    }

    var form = el('form', { class: 'try-form' });
    form.addEventListener('submit', function (e) { e.preventDefault(); });
    var params = op.parameters || [];
    if (params.length) {
      var table = el('table', {}, [el('thead', {}, [el('tr', {}, [
        el('th', { text: 'Parameter' }), el('th', { text: 'In' }), el('th', { text: 'Value' })
      ])])]);
      var tbody = el('tbody');
      params.forEach(function (p) {
        var inputId = id + '-' + p.in + '-' + p.name;
        tbody.appendChild(el('tr', {}, [
          el('td', {}, [
            el('label', { for: inputId }, [el('code', { text: p.name })]),
            p.required ? el('span', { class: 'meta', text: ' required' }) : null,
            p.description ? el('div', { class: 'hint', text: p.description }) : null
          ]),
          el('td', { text: p.in }),
          el('td', {}, [el('input', {
            type: 'text', id: inputId, 'data-param': p.in + ':' + p.name,
            placeholder: typeLabel(p.schema), autocomplete: 'off'
          })])
        ]));
      });
      table.appendChild(tbody);
      form.appendChild(el('div', { class: 'table-wrap' }, [table]));
    }
    var request = op.requestBody && jsonSchemaOf(op.requestBody.content);
    if (request) {
      form.appendChild(el('h4', { text: 'Request body (' + request.type + ')' }));
      form.appendChild(schemaView(request.schema, 0));
      form.appendChild(el('textarea', { 'data-body': 'json', rows: '5', 'aria-label': 'Request body' }));
    }
    var out = el('div', { class: 'result', 'aria-live': 'polite' });
    var send = el('button', { type: 'submit', class: 'try', text: 'Try it' });
    send.addEventListener('click', function () { tryIt(path, method, op, form, out); });
    form.appendChild(el('div', { class: 'buttons' }, [send]));
    details.appendChild(form);
    details.appendChild(out);

    var responses = el('div', { class: 'responses' }, [el('h4', { text: 'Responses' })]);
    var list = el('ul', { class: 'fields' });
    Object.keys(op.responses || {}).forEach(function (status) {
      var response = op.responses[status];
      var item = el('li', {}, [el('strong', { text: status }), ' ' + (response.description || '')]);
      var content = jsonSchemaOf(response.content);
      if (content) { item.appendChild(schemaView(content.schema, 1)); }
      list.appendChild(item);
    });
    responses.appendChild(list);
    details.appendChild(responses);
    return details;
  }

  function render() {
    var byTag = {};
    var tags = (doc.tags || []).map(function (t) { return t.name; });
    Object.keys(doc.paths).sort().forEach(function (path) {
      METHODS.forEach(function (method) {
        var op = doc.paths[path][method];
        if (!op) { return; }
        var tag = (op.tags && op.tags[0]) || 'Other';
        if (tags.indexOf(tag) < 0) { tags.push(tag); }
        (byTag[tag] = byTag[tag] || []).push([path, method, op]);
      });
    });
    var nav = document.getElementById('tags');
    var main = document.getElementById('operations');
    var count = 0;
    tags.forEach(function (tag) {
      var ops = byTag[tag];
      if (!ops) { return; }
      var info = (doc.tags || []).filter(function (t) { return t.name === tag; })[0];
      nav.appendChild(el('li', {}, [el('a', { href: '#tag-' + slug(tag), text: tag + ' (' + ops.length + ')' })]));
      var section = el('section', { id: 'tag-' + slug(tag), class: 'tag' }, [el('h2', { text: tag })]);
      if (info && info.description) { section.appendChild(el('p', { class: 'lead', text: info.description })); }
      ops.forEach(function (o) { section.appendChild(operationView(o[0], o[1], o[2])); count += 1; });
      main.appendChild(section);
    });
    document.getElementById('status').textContent =
      doc.info.title + ' ' + doc.info.version + ' (OpenAPI ' + doc.openapi + '): ' + count + ' operations.';
  }

  // Hides the operations (and emptied tags) that do not contain the filter's words.
  function applyFilter() {
    var words = document.getElementById('filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    Array.prototype.forEach.call(document.querySelectorAll('section.tag'), function (section) {
      var shown = 0;
      Array.prototype.forEach.call(section.querySelectorAll('details.op'), function (op) {
        var text = op.querySelector('summary').textContent.toLowerCase();
        var match = words.every(function (w) { return text.indexOf(w) >= 0; });
        op.hidden = !match;
        if (match) { shown += 1; }
      });
      section.hidden = shown === 0;
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.getElementById('filter').addEventListener('input', applyFilter);
    fetch('/openapi.json', { credentials: 'omit' })
      .then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.json();
      })
      .then(function (json) {
        doc = json;
        render();
        // A link to one operation (`/api-docs#op-get_admin_realms`) opens it.
        var target = location.hash && document.getElementById(location.hash.slice(1));
        if (target && target.tagName === 'DETAILS') {
          target.open = true;
          target.scrollIntoView();
        }
      })
      .catch(function (e) {
        document.getElementById('status').textContent = 'Could not load /openapi.json: ' + e;
      });
  });
})();
