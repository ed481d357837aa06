"""What the operator commands (`jobs`, `resources`) share as clients of the HTTP API: the one
number-file reader (docs/number-files.md, also in the console's ui/numberfile.js), the one
failures CSV, an API client that trusts no server, and text made safe for a terminal."""
