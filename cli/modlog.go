package cli

import (
	"context"
	"fmt"
	"io"

	"agora/config"
	"agora/moderation"
)

// errLogBroken: the moderation log's hash chain does not verify.
var errLogBroken = fmt.Errorf("moderation log verification failed")

// modlogCmd implements `agora modlog verify`.
func modlogCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError("modlog takes: verify")
	}
	cfg, _, err := config.Load(args[1:], getenv)
	if err != nil {
		return err
	}
	db, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	broken, checked, err := moderation.VerifyLog(ctx, db)
	if err != nil {
		return err
	}
	if broken != 0 {
		fmt.Fprintf(stdout, "BROKEN: entry %d does not match its hash or its link to the previous entry (%d entries checked)\n", broken, checked)
		return errLogBroken
	}
	fmt.Fprintf(stdout, "ok: %d entries, hash chain intact\n", checked)
	return nil
}
