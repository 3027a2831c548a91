package app

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"agora/models"
)

// Watching and muting topics and categories: POST /t/{id}/watch and
// /c/{id}/watch from the pages, GET and PUT …/watch in the API.

// watchSubmit: POST /t/{id}/watch or /c/{id}/watch (category) with level → back to the page.
func (s *server) watchSubmit(category bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		if err := s.Notify.Watch(c.UserContext(), currentUser(c), id, category, c.FormValue("level")); err != nil {
			return err
		}
		return c.Redirect(localPath(c.FormValue("next")), http.StatusSeeOther)
	}
}

// apiWatch: GET /api/v1/topics/{id}/watch or /categories/{id}/watch → {level}.
func (s *server) apiWatch(category bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		level, err := s.Notify.WatchLevel(c.UserContext(), currentUser(c), id, category)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"level": level})
	}
}

// apiSetWatch: PUT …/watch {level: normal|watching|muted} → {level}.
func (s *server) apiSetWatch(category bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, req, err := idAndJSON[struct {
			Level string `json:"level"`
		}](c)
		if err != nil {
			return err
		}
		if err := s.Notify.Watch(c.UserContext(), currentUser(c), id, category, req.Level); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"level": req.Level})
	}
}

// watchChoice is one button of a page's watch control.
type watchChoice struct {
	Level, Label, Hint string
	Current            bool
}

// watchChoices are the three levels, current marked.
func watchChoices(current string) []watchChoice {
	if current == "" {
		current = models.WatchNormal
	}
	cs := []watchChoice{
		{Level: models.WatchWatching, Label: "Watch", Hint: "every new post notifies you"},
		{Level: models.WatchNormal, Label: "Normal", Hint: "replies to you and mentions notify you"},
		{Level: models.WatchMuted, Label: "Mute", Hint: "nothing here notifies you"},
	}
	for i := range cs {
		cs[i].Current = cs[i].Level == current
	}
	return cs
}

// watchControl is the watch form on a topic or category page.
type watchControl struct {
	Action, Next, What, CSRF string
	Choices                  []watchChoice
}

// watchControlFor builds the control for the viewer (nil for guests). A
// page shared by members shows the default level, which is theirs: a member
// with a level of their own gets the page alone (models personalSQL for
// topics, listPage for categories).
func (s *server) watchControlFor(c *fiber.Ctx, id int64, category bool, next string) (*watchControl, error) {
	u := currentUser(c)
	if u == nil {
		return nil, nil
	}
	w := &watchControl{Action: "/t/" + strconv.FormatInt(id, 10) + "/watch", Next: next, What: "topic"}
	if category {
		w.Action, w.What = "/c/"+strconv.FormatInt(id, 10)+"/watch", "category"
	}
	level := models.WatchNormal
	if c.Locals(localShared) != nil {
		w.CSRF = s.markers.csrf
	} else {
		w.CSRF = s.csrfToken(c)
		var err error
		if level, err = s.Notify.WatchLevel(c.UserContext(), u, id, category); err != nil {
			return nil, err
		}
	}
	w.Choices = watchChoices(level)
	return w, nil
}
