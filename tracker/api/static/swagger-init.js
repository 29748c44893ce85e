// Starts Swagger UI from a file rather than an inline script, so that the
// Content-Security-Policy of /docs can forbid inline scripts. The schema's URL comes from the
// page (data-openapi-url); validatorUrl null keeps the page from calling an outside validator.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
