// Starts Swagger UI on /api/v1/docs and /api/v2/docs. A file rather than an inline script, so that the
// Content-Security-Policy allows only scripts the webserver serves (webui/headers.py).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const holder = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: holder.dataset.specUrl,
    domNode: holder,
    deepLinking: true,
    validatorUrl: null,  // the default sends the document to validator.swagger.io
  });
});
