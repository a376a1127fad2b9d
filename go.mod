module github.com/maestro-conductor/releasegate

go 1.26.8

require (
	github.com/google/go-github/v60 v60.0.0 // indirect
	github.com/sethvargo/go-githubactions v1.3.2 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
