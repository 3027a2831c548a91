package forum

import (
	"strconv"

	"agora/models"
)

// TopicPath is the address of a topic's first page.
func TopicPath(t *models.Topic) string { return "/t/" + strconv.FormatInt(t.ID, 10) + "/" + t.Slug }

// PostPath is the address of post number n of t: its page and anchor.
func PostPath(t *models.Topic, n int) string {
	path := TopicPath(t)
	if page := (n-1)/PerPage + 1; page > 1 {
		path += "?page=" + strconv.Itoa(page)
	}
	return path + "#post-" + strconv.Itoa(n)
}
