/*
 * codesign review area: the JSON API's reference, drawn by Swagger UI (npm swagger-ui-dist,
 * served from node_modules; loaded before this file by the page).
 *
 * The schema comes from the review area (the session is enough to read it); "Try it out"
 * calls /api/v1 with the token given under "Authorize", which is kept in memory only
 * (not in localStorage). No validator badge: it would call a third-party site.
 */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("swagger-ui");
    if (!box) return;
    if (typeof window.SwaggerUIBundle !== "function") {
      box.textContent = "The reference could not be loaded. The OpenAPI schema is at " +
        box.getAttribute("data-schema-url") + ".";
      return;
    }
    window.SwaggerUIBundle({
      url: box.getAttribute("data-schema-url"),
      domNode: box,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      deepLinking: false,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      displayRequestDuration: true,
      persistAuthorization: false,
      validatorUrl: null
    });
  });
})();
