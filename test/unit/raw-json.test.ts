import { describe, expect, test } from "bun:test";
import { topLevelMember } from "../../src/events/raw-json";

describe("topLevelMember", () => {
  test.each([
    ['{"type":"a.b","data":{"n":12345678901234567890}}', "data", '{"n":12345678901234567890}'],
    ['{ "data" : [1, 2, {"x": "}"}] , "type": "a.b" }', "data", '[1, 2, {"x": "}"}]'],
    ['{"data":"a \\" } string"}', "data", '"a \\" } string"'],
    ['{"data":1.50e10}', "data", "1.50e10"],
    ['{"data":null}', "data", "null"],
    ['{"data":true,"x":1}', "data", "true"],
    ['{"nested":{"data":1},"data":2}', "data", "2"],
    ['{"data":1,"data":{"last":"wins"}}', "data", '{"last":"wins"}'],
    ['{"d\\u0061ta":{"escaped":"key"}}', "data", '{"escaped":"key"}'],
    ['{"type":"a.b"}', "data", undefined],
    ['[{"data":1}]', "data", undefined],
    ['\n\t{\n"data":\n{"k":"\\n"}\n}\n', "data", '{"k":"\\n"}'],
    ['{"data":{"emoji":"\u00e9\ud83d\ude00"}}', "data", '{"emoji":"\u00e9\ud83d\ude00"}'],
  ])("%s -> %s", (text, key, expected) => {
    expect(topLevelMember(text, key)).toBe(expected);
  });

  test("the extracted text parses to the same value JSON.parse gives", () => {
    const text = '{"type":"x.y","data":{"a":[1,{"b":"c"}],"s":"q\\"uote","n":-0.5}}';
    expect(JSON.parse(topLevelMember(text, "data")!)).toEqual(JSON.parse(text).data);
  });
});
