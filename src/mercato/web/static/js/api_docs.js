// Starts Swagger UI on /api/v1/docs. A file, not an inline script: the app's CSP allows scripts from 'self' only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    // The validator badge would load an image from a third-party service.
    validatorUrl: null,
    // "Try it out" with the browser's session cookie: cookie-authenticated writes need the CSRF header
    // (ignored for bearer-token requests).
    requestInterceptor: function (request) {
      if (meta && meta.content) {
        request.headers["X-CSRF-Token"] = meta.content;
      }
      return request;
    },
  });
})();
