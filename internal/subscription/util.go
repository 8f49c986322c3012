package subscription

import (
	"errors"

	"github.com/connect-oss/connect/internal/errs"
	"strconv"
	"strings"
)

func strconvFormat(v int64) string { return strconv.FormatInt(v, 10) }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func asErr(err error, target **errs.Error) bool { return errors.As(err, target) }
