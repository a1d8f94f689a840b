package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// DocumentPath is where the OpenAPI 3.1 document of every /api/v1 route
// is served: no authentication (it holds no data, only the API's shape).
const DocumentPath = "/api/v1/openapi.json"

// document is the OpenAPI document, written by hand (openapi.json).
// TestOpenAPIDocumentsEveryRoute and the response tests in web/api and
// web/apps keep it in step with the routes and their answers.
//
//go:embed openapi.json
var document []byte

// Document returns a copy of the OpenAPI 3.1 document.
func Document() []byte { return append([]byte(nil), document...) }

// MountDocument serves the document at DocumentPath. It is mounted
// whether or not the admin API is on: it also describes the API for apps.
func MountDocument(e *echo.Echo) { e.GET(DocumentPath, serveDocument) }

// serveDocument answers the document; caches may keep it a while (it
// changes only with the broker's version).
func serveDocument(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "application/json", document)
}
