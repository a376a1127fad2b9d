package all

import _ "github.com/maestro-conductor/releasegate/internal/gates/tests"
