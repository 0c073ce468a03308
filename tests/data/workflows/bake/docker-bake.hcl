// Release targets for the two services.
variable "TAG" {
  default = "latest"
}

group "default" {
  targets = ["api", "docs"]
}

target "_release" {
  platforms = [
    "linux/amd64",
    "linux/arm64", # Graviton
  ]
}

target "api" {
  inherits   = ["_release"]
  context    = "services/api"
  dockerfile = "Dockerfile.release"
  tags       = ["example/api:${TAG}"]
}

target "docs" {
  inherits = ["_release"]
  context  = "docs"
  tags     = ["example/docs:${TAG}"]
}
