// Package all registers every gate kind of this build. Import it for its
// side effects: each file imports one gate package.
package all
