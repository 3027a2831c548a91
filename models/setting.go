package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Setting keys.
const (
	SettingCommunityName  = "community_name"
	SettingGuidelines     = "guidelines"      // Markdown of the community guidelines page
	SettingGuidelinesHTML = "guidelines_html" // its sanitized rendering, made when it is saved
	SettingPrivacy        = "privacy"         // Markdown of the /privacy page
	SettingPrivacyHTML    = "privacy_html"    // its sanitized rendering
)

// Setting is one operator-editable value.
type Setting struct {
	bun.BaseModel `bun:"table:settings"`

	Key       string    `bun:"key,pk"`
	Value     string    `bun:"value"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// GetSetting returns the value under key, or def when unset.
func GetSetting(ctx context.Context, db bun.IDB, key, def string) (string, error) {
	s := new(Setting)
	err := db.NewSelect().Model(s).Where("key = ?", key).Scan(ctx)
	if err = notFound(err, "load setting "+key); err != nil {
		if IsNotFound(err) {
			return def, nil
		}
		return "", err
	}
	return s.Value, nil
}

// PutSetting stores value under key.
func PutSetting(ctx context.Context, db bun.IDB, key, value string, now time.Time) error {
	_, err := db.NewInsert().Model(&Setting{Key: key, Value: value, UpdatedAt: now}).
		On("CONFLICT (key) DO UPDATE").Set("value = EXCLUDED.value").Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	return notFound(err, "store setting "+key)
}
