package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set by builds without VCS information (the Dockerfile's, whose
// context has no .git) with -ldflags "-X main.version=… -X main.commit=…"; otherwise they
// come from the build info Go records.
var version, commit string

func versionCommand(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return usageError{"version takes no arguments"}
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionLine(info, version, commit))
	return nil
}

// versionLine is `twilio-connector VERSION (commit REVISION[, modified]; GO OS/ARCH)`: the
// module version ("(devel)" for a build from a checkout without a tag) and the VCS revision
// and modified flag from info, where the linker-set ldVersion and ldCommit do not say.
func versionLine(info *debug.BuildInfo, ldVersion, ldCommit string) string {
	v, rev, modified := ldVersion, ldCommit, ""
	if info != nil {
		v = cmp.Or(v, info.Main.Version)
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = cmp.Or(rev, s.Value)
			case s.Key == "vcs.modified" && s.Value == "true":
				modified = ", modified"
			}
		}
	}
	return fmt.Sprintf("twilio-connector %s (commit %s%s; %s %s/%s)", cmp.Or(v, "(devel)"), cmp.Or(rev, "unknown"), modified,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
