// Starts Swagger UI on /docs. A file rather than FastAPI's inline script, so the page's
// Content-Security-Policy stays script-src 'self' with no exception. The page's script tag
// carries the OpenAPI URL (data-openapi-url); the options are FastAPI's defaults.
"use strict";
(function () {
  var spec = document.currentScript.dataset.openapiUrl;
  window.addEventListener("DOMContentLoaded", function () {
    window.ui = SwaggerUIBundle({
      url: spec,
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: false,
      showExtensions: true,
      showCommonExtensions: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    });
  });
})();
